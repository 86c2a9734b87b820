"""A user's own account: change the password (current one required, audited; the user's
other sessions end), and see one's open sessions and end any of them."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from supervisor.core import clock
from supervisor.core.extensions import db, limiter
from supervisor.people import sessions as server_sessions
from supervisor.people.accounts import MIN_PASSWORD_LENGTH, check_password, set_password
from supervisor.people.models import UserSession
from supervisor.web.auth import _login_limit
from supervisor.web.guards import SESSION_KEY

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
            set_password(current_user, form.new.data, actor=current_user,
                         keep_session=session.get(SESSION_KEY))
            db.session.commit()
            flash(_("Password changed. Your other sessions have been ended."))
            return redirect(url_for("web.index"))
    return render_template("account/password.html", form=form), (400 if form.errors else 200)


class EndForm(FlaskForm):
    pass


@bp.get("/sessions")
@login_required
def sessions():
    settings = current_app.extensions["settings"]
    rows = server_sessions.open_sessions(db.session, current_user.id, clock.now(),
                                         idle_s=settings.SESSION_IDLE_S,
                                         absolute_s=settings.SESSION_ABSOLUTE_S)
    return render_template("account/sessions.html", rows=rows, form=EndForm(),
                           this_id=g.get("user_session_id"))


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    form = EndForm()
    if not form.validate_on_submit():
        abort(400)
    row = db.session.get(UserSession, session_id) if session_id < 2**63 else None
    if row is None or row.user_id != current_user.id:
        abort(404)
    server_sessions.end(row, clock.now(), server_sessions.ENDED_BY_USER)
    db.session.commit()
    if row.id == g.get("user_session_id"):
        return redirect(url_for("auth.login"))
    flash(_("Session ended."))
    return redirect(url_for("account.sessions"))
