"""Application factory and wiring. The domain lives in supervisor/; this file only connects it."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from supervisor import secretbox
from supervisor.extensions import babel, csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent


def _instance_secret(app: Flask, filename: str, make) -> bytes:
    """A per-installation secret kept in instance/ (mode 0600), generated on first run."""
    path = Path(app.instance_path) / filename
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    path.touch(mode=0o600)
    path.write_bytes(value)
    return value


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Defaults, then FLASK_* environment variables, then the caller's overrides."""
    app = Flask(__name__, instance_relative_config=True,
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{Path(app.instance_path) / 'supervisor.db'}",
        SQLALCHEMY_ENGINE_OPTIONS={},
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "supervisor" / "translations"),
        LANGUAGES=["zh_CN", "en"],
        PROFILE_DIR=str(ROOT / "supervisor" / "profiles"),
        EVIDENCE_DIR=str(Path(app.instance_path) / "evidence"),
        LOGIN_RATE_LIMIT="10 per minute",
        RATELIMIT_STORAGE_URI="memory://",
        PROBE_EXECUTOR="local",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
    )
    app.config.from_prefixed_env()  # FLASK_SQLALCHEMY_DATABASE_URI, FLASK_SECRET_KEY, ...
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(
            app, "secret_key", lambda: secrets.token_hex(32).encode())
    if not app.config.get("DEVICE_SECRET_KEY"):
        app.config["DEVICE_SECRET_KEY"] = secretbox.load_or_create_key(
            Path(app.instance_path) / "device_secret.key")
    secretbox.configure(app.config["DEVICE_SECRET_KEY"])

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from supervisor import models  # noqa: F401  (tables known to Alembic)

    _wire(app)
    return app


def _wire(app: Flask) -> None:
    """Each domain module registers its blueprint and CLI commands in its own init_app."""
    from supervisor import i18n, auth, health_cli, inventory_cli, profiles, users_cli, web

    for module in (i18n, auth, profiles, inventory_cli, users_cli, web, health_cli):
        module.init_app(app)
    from supervisor import scheduling  # `flask scheduler run|status`

    scheduling.init_app(app)


if __name__ == "__main__":  # pragma: no cover
    create_app().run(debug=bool(os.environ.get("FLASK_DEBUG")))
