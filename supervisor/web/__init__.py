"""Web pages and the JSON API: one blueprint per area, routes thin.

- auth.py: login / logout (rate-limited, audited)
- communities.py, devices.py: lists, details, the device edit form, exports
- imports.py: upload -> preview -> confirm -> counts
- api.py: a small read-only JSON API under /api/v1
- reports.py: what officials see (a placeholder until the reports pages land)
Every query about devices, communities and contracts starts in supervisor/core/scoping.py.
"""
from __future__ import annotations

from flask import Blueprint, Flask, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from supervisor.core.choices import Role

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.role == Role.OFFICIAL:
        return redirect(url_for("reports.index"))
    return redirect(url_for("devices.index"))


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _error(code: int, message: str):
    if _wants_json():
        return {"error": message, "status": code}, code
    return render_template("error.html", code=code, message=message), code


def init_app(app: Flask) -> None:
    from supervisor.web import account, auth, communities, devices, imports, reports
    from supervisor.web.api import routes as api
    from supervisor.web.helpers import register_template_helpers

    app.register_blueprint(bp)
    for module in (auth, account, communities, devices, imports, api, reports):
        app.register_blueprint(module.bp)
    from supervisor.web import health_pages  # timelines, current faults, sweep status (issue 7)

    app.register_blueprint(health_pages.bp)
    from supervisor.web import admin  # audit log, users, maintenance windows (police only)

    app.register_blueprint(admin.bp)
    register_template_helpers(app)

    @app.after_request
    def _security_headers(response):
        # Pages are never framed (clickjacking on the edit/import forms), types are not sniffed.
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return _error(400, _("The form expired or was not sent from this site. Please try again."))

    @app.errorhandler(403)
    def _forbidden(exc: HTTPException):
        return _error(403, _("You do not have access to this page."))

    @app.errorhandler(404)
    def _not_found(exc: HTTPException):
        return _error(404, _("Not found."))

    @app.errorhandler(413)
    def _too_large(exc: HTTPException):
        return _error(413, _("The file is too large."))

    @app.errorhandler(429)
    def _too_many(exc: HTTPException):
        return _error(429, _("Too many attempts. Please wait a minute and try again."))
