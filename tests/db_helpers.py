"""Prepared SQLite databases for tests: migrated once per test session, copied per test.

Running the migrations costs about a second; copying the migrated file costs milliseconds.
`database_template(factory, name, builder)` builds the file `name` once (migrations, then
`builder()` inside the app context) and returns its path; fixtures copy it per test.
"""
from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

TEST_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "DEVICE_SECRET_KEY": "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4=",
    "WTF_CSRF_ENABLED": True,
    "RATELIMIT_ENABLED": True,
}

_TEMPLATES: dict[str, Path] = {}


def database_template(tmp_path_factory: Any, name: str,
                      builder: Callable[[], None] | None = None,
                      config: dict[str, Any] | None = None) -> Path:
    """The path of prepared database `name`, built on first use in this test session."""
    if name not in _TEMPLATES:
        from flask_migrate import upgrade

        from app import create_app
        from supervisor.core.extensions import db

        path = tmp_path_factory.mktemp(f"template-{name}") / "template.db"
        template_app = create_app({**TEST_CONFIG, **(config or {}),
                                   "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
        with template_app.app_context():
            upgrade()
            if builder is not None:
                builder()
            db.session.remove()
            db.engine.dispose()
        _TEMPLATES[name] = path
    return _TEMPLATES[name]


def copy_database(template: Path, tmp_path: Path) -> str:
    """A private copy of a prepared database; returns its SQLAlchemy URL."""
    target = tmp_path / "test.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def set_settings(app: Any, **values: Any) -> None:
    """Change settings of a running test app: the typed object domain code is handed, and the
    `app.config` copy pages read."""
    app.extensions["settings"] = app.extensions["settings"].model_copy(update=values)
    app.config.update(values)


def clear_g_per_request(app: Any) -> None:
    """One `g` per request: the app fixture keeps a context pushed, so without this two test
    clients would share `g` (the logged-in user, the CSRF token) like one browser."""
    from flask import g

    @app.teardown_request
    def _clear_g(exc: Any) -> None:
        for key in list(vars(g)):
            g.pop(key, None)


@contextlib.contextmanager
def migrated_app(url: str, config: dict[str, Any],
                 builder: Callable[[], None] | None = None) -> Iterator[Any]:
    """An app on database `url` (a fresh PostgreSQL database of the test server), built by
    the migrations and then `builder()`, inside its app context; disposed afterwards."""
    from flask_migrate import upgrade

    from app import create_app
    from supervisor.core.extensions import db

    app = create_app({**config, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        if builder is not None:
            builder()
        yield app
        db.session.remove()
        db.engine.dispose()
