"""Languages: zh_CN by default, English switchable (Flask-Babel).

The choice is kept in the session (set by /lang/<code>), else the user's saved locale,
else the default. Catalogs live in supervisor/translations/ (source strings are English;
the compiled .mo files are committed so a fresh clone needs no build step). Babel spells
zh_CN as zh_Hans_CN when it looks for a catalog, so the catalog directory has that name.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, redirect, request, session, url_for
from flask_login import current_user

from supervisor.core.extensions import babel

bp = Blueprint("i18n", __name__)

LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    saved = getattr(current_user, "locale", None) if current_user else None
    if saved in languages:
        return saved
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("web.index")


@bp.get("/lang/<code>")
def switch(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)

    @app.context_processor
    def _languages():
        return {"language_names": LANGUAGE_NAMES, "current_locale": select_locale()}
