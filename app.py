"""Application factory and wiring. The domain lives in supervisor/; this file only connects it."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from collections.abc import Callable
from typing import Any

from flask import Flask

from supervisor.core import localtime, secretbox
from supervisor.core.settings import load_settings
from supervisor.profiles import loader as profiles
from supervisor.core.extensions import csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent


def _instance_secret(instance: Path, filename: str, make: Callable[[], bytes]) -> str:
    """A per-installation secret kept in instance/ (mode 0600), generated on first run."""
    path = instance / filename
    if path.exists():
        return path.read_bytes().strip().decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    path.touch(mode=0o600)
    path.write_bytes(value)
    return value.decode()


def _private_files(settings: Any, instance: Path) -> None:
    """The instance folder, the SQLite database and everything the process creates later
    (uploads, evidence, journals) are readable by the service's user only."""
    if settings.FILE_UMASK is not None:
        os.umask(settings.FILE_UMASK)
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.chmod(instance, 0o700)
    except OSError:  # a folder owned by someone else: leave it, the files below still are
        pass
    uri = settings.SQLALCHEMY_DATABASE_URI
    if uri.startswith("sqlite:///") and ":memory:" not in uri:
        path = Path(uri.removeprefix("sqlite:///").split("?", 1)[0])
        if not path.is_absolute():  # Flask-SQLAlchemy reads it relative to the instance
            path = instance / path
        if path.name:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            for name in (path, *[path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal")]):
                if name.exists():
                    try:
                        os.chmod(name, 0o600)
                    except OSError:
                        pass


def _sqlite_wal(engine: Any) -> None:
    """SQLite file databases run in write-ahead-log mode: the sweeps, the scheduler's job
    store, the ticket job and the pages share one file from several threads and processes,
    and in the default rollback-journal mode a reader still stepping through a query keeps
    every writer waiting (up to `SQLITE_BUSY_TIMEOUT_S`, then "database is locked"). With
    the log, readers never block the writer nor the writer them; writers still take turns."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # synchronous stays FULL (the default): a commit survives a power cut, not only a crash.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Settings defaults, then FLASK_* environment variables, then the caller's overrides."""
    app = Flask(__name__, instance_relative_config=True,
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    instance = Path(app.instance_path)
    settings = load_settings(instance, config)
    _private_files(settings, instance)
    filled: dict[str, Any] = {}
    if not settings.SECRET_KEY:
        filled["SECRET_KEY"] = _instance_secret(instance, "secret_key",
                                                lambda: secrets.token_hex(32).encode())
    if not settings.DEVICE_SECRET_KEY:
        filled["DEVICE_SECRET_KEY"] = secretbox.load_or_create_key(
            instance / "device_secret.key").decode()
    settings = settings.model_copy(update=filled) if filled else settings
    app.config.update(settings.flask_config())
    app.extensions["settings"] = settings
    secretbox.configure(settings.DEVICE_SECRET_KEY)
    localtime.configure(settings.LOCAL_TIMEZONE)

    db.init_app(app)
    with app.app_context():
        _sqlite_wal(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from supervisor import models  # noqa: F401  (tables known to Alembic)

    with app.app_context():
        profiles.configure(settings.profile_dirs, db.engine)

    _wire(app)
    return app


def _wire(app: Flask) -> None:
    """Each domain module registers its blueprint and CLI commands in its own init_app."""
    from supervisor import web
    from supervisor.acceptance import cli as acceptance_cli
    from supervisor.demo import cli as demo_cli
    from supervisor.health import cli as health_cli
    from supervisor.inventory import cli as inventory_cli
    from supervisor.people import cli as users_cli
    from supervisor.profiles import cli as profiles_cli
    from supervisor.sweeps import cli as sweeps_cli
    from supervisor.tickets import cli as tickets_cli
    from supervisor.web import guards, i18n
    from supervisor.reporting import cli as reports_cli
    from supervisor.demo import history as history_cli

    for module in (i18n, guards, profiles_cli, inventory_cli, users_cli, web, health_cli, sweeps_cli,
                   demo_cli, acceptance_cli, tickets_cli, reports_cli, history_cli):
        module.init_app(app)


if __name__ == "__main__":  # pragma: no cover
    create_app().run(debug=bool(os.environ.get("FLASK_DEBUG")))
