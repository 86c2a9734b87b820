"""The admin pages' queries on PostgreSQL (production): audit keyset pages and filters with
local dates, last logins, maintenance windows honoured by a sweep. The same test bodies as
on SQLite, on a scratch database of the server `make test` starts."""
from __future__ import annotations

import pytest

from supervisor.core.extensions import db

from .conftest import TEST_CONFIG, build_world_template
from .test_admin_audit import (  # noqa: F401  (collected here again, on PostgreSQL)
    test_filters_by_actor_entity_action_key_and_local_dates,
    test_keyset_pages_walk_every_row_once_both_ways,
    test_password_change_shows_changed_never_the_value,
)
from .test_admin_maintenance import (  # noqa: F401
    clock,
    test_window_from_the_page_is_stored_utc_and_honoured_by_the_next_sweep,
)
from .test_admin_users import test_list_shows_last_login_from_the_audit_log  # noqa: F401

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(pg_database, tmp_path):
    """Overrides the SQLite `app` of this folder: a fresh PostgreSQL database, migrated."""
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": pg_database,
                      "EVIDENCE_DIR": str(tmp_path / "evidence"),
                      "IMPORT_UPLOAD_DIR": str(tmp_path / "imports")})
    with app.app_context():
        upgrade()
        build_world_template()
        yield app
        db.session.remove()
        db.engine.dispose()
