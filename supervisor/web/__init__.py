"""Web pages and the JSON API: one blueprint per area, routes thin (parse input, call the
domain, render).

- auth.py, account.py: login / logout (rate-limited, audited), one's own password
- communities.py, devices.py: lists, details, the device edit form, exports
- imports.py: upload -> preview -> confirm -> counts
- health_pages.py, timeline.py: a device's timeline and frame, current faults, sweep status
- admin.py: audit log, users, maintenance windows (police)
- reports.py: what officials read
- api/: the read-only JSON API under /api/v1
- guards.py (who may open a page), i18n.py (language), helpers.py (labels, template helpers)
Every query about devices, communities and contracts starts in supervisor/core/scoping.py.

May import: every `supervisor` package and `reports` (pages show reports); Flask.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

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


# Stable machine-readable codes of the API's error answers (the message may change or be
# translated; the code does not).
ERROR_CODES = {400: "bad_request", 401: "login_required", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large", 429: "too_many_requests",
               500: "server_error"}


def _error(code: int, message: str, error_code: str | None = None):
    if _wants_json():
        return {"error": str(message), "code": error_code or ERROR_CODES.get(code, "error"),
                "status": code}, code
    return render_template("error.html", code=code, message=message), code


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a database id, so at most 2**63 - 1 (a bigger number
    would overflow the database's integer and become a server error; it is simply 404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    # Before any blueprint adds a rule: rules bind their converters when added.
    app.url_map.converters["int"] = IdConverter
    from supervisor.web import account, auth, communities, devices, imports, reports
    from supervisor.web.api import routes as api
    from supervisor.web.helpers import register_template_helpers

    app.register_blueprint(bp)
    for module in (auth, account, communities, devices, imports, api, reports):
        app.register_blueprint(module.bp)
    from supervisor.web import health_pages  # timelines, current faults, sweep status

    app.register_blueprint(health_pages.bp)
    from supervisor.web import admin  # audit log, users, maintenance windows (police only)

    app.register_blueprint(admin.bp)
    from supervisor.web import acceptance  # acceptance runs, references, discovery, certificate
    from supervisor.web import tickets  # work orders, SLA clocks, contractor queue

    tickets.register(app)

    acceptance.init_app(app)
    register_template_helpers(app)
    imports.init_app(app)  # resumes import jobs a stopped process left running
    from supervisor.web import links  # what pages may say about another tenant's linked device

    links.init_app(app)

    from supervisor.web import security  # CSP, framing, sniffing, caching: one hook

    security.init_app(app)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return _error(400, _("The form expired or was not sent from this site. Please try again."),
                      "csrf")

    @app.errorhandler(400)
    def _bad_request(exc: HTTPException):
        # A view that refuses a value says why (abort(400, description=...), translated);
        # Werkzeug's own English default is replaced by ours.
        described = getattr(exc, "description", None)
        default = type(exc).description if isinstance(exc, HTTPException) else None
        message = described if described and described != default else \
            _("The request has a value this page cannot use.")
        return _error(400, message)

    @app.errorhandler(405)
    def _not_allowed(exc: HTTPException):
        return _error(405, _("This address does not accept this kind of request."))

    @app.errorhandler(500)
    def _server_error(exc: Exception):
        return _error(500, _("Something went wrong on our side. It has been logged."))

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
