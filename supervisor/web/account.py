"""A user's own account: change the password (current one required, audited)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from supervisor.people.accounts import MIN_PASSWORD_LENGTH, check_password, set_password
from supervisor.core.extensions import db, limiter
from supervisor.web.auth import _login_limit

bp = Blueprint("account", __name__, url_prefix="/account")


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=256)])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))])


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"])  # guessing the current password is a login attempt
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        if not check_password(current_user, form.current.data):
            form.current.errors.append(_("Wrong password."))
        else:
            set_password(current_user, form.new.data, actor=current_user)
            db.session.commit()
            flash(_("Password changed."))
            return redirect(url_for("web.index"))
    return render_template("account/password.html", form=form), (400 if form.errors else 200)
