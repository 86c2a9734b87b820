"""Login and logout. POSTs to /login are rate-limited per client address (LOGIN_RATE_LIMIT)."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from supervisor.core import audit, clock
from supervisor.people import sessions as server_sessions
from supervisor.web.guards import SESSION_KEY
from supervisor.people.accounts import check_password, find_user
from supervisor.core.extensions import db, limiter
from supervisor.web.i18n import _safe_next

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


def _login_limit() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT", "10 per minute")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.index"))
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        name = form.username.data.strip()
        user = find_user(name)
        if check_password(user, form.password.data) and user.is_active:
            lang = session.get("lang")
            session.clear()  # a fresh session at login: no fixation
            if lang:
                session["lang"] = lang
            session.permanent = True  # the cookie lives as long as the absolute lifetime
            session[SESSION_KEY] = server_sessions.start(
                db.session, user.id, clock.now(), remote_addr=request.remote_addr,
                user_agent=request.headers.get("User-Agent"))
            login_user(user)
            audit.record(user, "login", "user", user.username, note=request.remote_addr)
            db.session.commit()
            log.info("login: %s", user.username)
            return redirect(_safe_next(request.args.get("next")))
        failed = True
        audit.record(None, "login-failed", "user", name[:80], note=request.remote_addr)
        db.session.commit()
        log.info("failed login for %r", name[:80])
    return render_template("login.html", form=form, failed=failed), (401 if failed else 200)


@bp.post("/logout")
@login_required
def logout():
    audit.record(current_user, "logout", "user", current_user.username)
    server_sessions.end_token(db.session, session.get(SESSION_KEY), clock.now(),
                              server_sessions.LOGOUT)
    db.session.commit()
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.login"))
