"""Shared by the calibration tests that run the simulator (local and Celery executors)."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
import yaml

from supervisor.core.extensions import db
from supervisor.health.models import EvidenceFrame


@contextlib.contextmanager
def one_day_profile(tmp_path: Path, name: str) -> Iterator[None]:
    """default@2 as profile NAME@1, learning from one clean day (12 frames a half, the
    package's minimum), in a profile folder of its own for the test."""
    from supervisor.profiles import loader

    doc = yaml.safe_load((loader.DEFAULT_DIR / "default-v2.yaml").read_text(encoding="utf-8"))
    doc.update(name=name, version=1, supersedes=None)
    doc["image_quality"]["calibration"].update(learn_days=1, min_frames=12)
    # Day figures at every hour the suite may run at: the simulator's warm view reads as a
    # colour cast by the day figure (25) and not by the night one (40), and what these tests
    # claim is about learning, not about the time of day (an empty night window).
    doc["image_quality"]["night"].update(start="00:00", end="00:00")
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / f"{name}-v1.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    loader.configure([folder, loader.DEFAULT_DIR], db.engine)
    try:
        yield
    finally:
        loader.configure(None, db.engine)


def latest_diagnosis(device_id: int) -> dict:
    return db.session.scalars(sa.select(EvidenceFrame.diagnosis).where(
        EvidenceFrame.device_id == device_id, EvidenceFrame.kind == "latest")
        .order_by(EvidenceFrame.taken_at.desc()).limit(1)).one()


def fault_names(diagnosis: dict) -> set[str]:
    return {f["fault"] for f in diagnosis.get("faults") or []}
