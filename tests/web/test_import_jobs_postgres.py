"""On PostgreSQL a running import job writes its progress and heartbeat to its row on a
connection of its own, so another worker (or host) sees it advance while the apply's one
transaction is still open."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from db_helpers import migrated_app

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.inventory import importer, jobs
from supervisor.inventory.models import ImportJob

from .conftest import TEST_CONFIG, build_world_template

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(pg_database, tmp_path):
    with migrated_app(pg_database, {**TEST_CONFIG, "IMPORT_UPLOAD_DIR": str(tmp_path / "imports")},
                      build_world_template) as app:
        yield app


def test_progress_is_visible_to_others_while_applying(app, world, tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "HEARTBEAT_EVERY_S", 0.0)
    rows = ["serial,name,kind,role,ip,community,district,community_type,contract"] + [
        f"PGJ-{i:04d},cam {i},camera,road,127.3.{i // 250}.{i % 250 + 1},阳光小区,东城区,open,CT-ALPHA"
        for i in range(600)]
    folder = tmp_path / "imports"
    job = jobs.store_upload(db.session, folder, user_id=None, filename="pg.csv",
                            data=("\n".join(rows) + "\n").encode(), create_contracts=False,
                            now=clock.now())
    jobs.queue(job, clock.now())
    db.session.commit()
    assert jobs.claim(db.session, job.id, clock.now())
    seen = []
    other = sa.create_engine(db.engine.url)  # another worker's connection

    def apply_and_look(plan, actor, progress=None):
        """apply_plan's steps, then a look from the other connection before the commit."""
        ctx = importer._load_context()
        assert not importer._check_against(plan, ctx)
        counts = importer._write(plan, ctx, actor, progress)
        with other.connect() as conn:
            seen.append(conn.execute(sa.select(ImportJob.stage, ImportJob.done, ImportJob.total,
                                               ImportJob.heartbeat_at)
                                     .where(ImportJob.id == job.id)).one())
            seen.append(conn.execute(sa.text("select count(*) from devices where serial like 'PGJ-%'")).scalar())
        db.session.commit()
        return counts

    monkeypatch.setattr(importer, "apply_plan", apply_and_look)
    assert jobs.run(db.session, folder, job.id, actor=None, now=clock.now) == "done"
    (stage, done, total, beat), devices_seen = seen
    assert stage == "write" and done == total == 600 and beat is not None
    assert devices_seen == 0  # the apply was still one open transaction
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).counts["created"] == 600
    other.dispose()
