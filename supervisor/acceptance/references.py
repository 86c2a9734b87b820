"""Reference frames: a police user confirms or rejects the frame an acceptance kept.

Confirming copies the frame into the evidence store as kind `reference` (through
supervisor.health.evidence.save_frame), which is what the sweep's diagnosis judges
`scene_change` and the reference-based image rules against (evidence.latest_paths takes the
newest reference). The reference it replaces stays on disk and in the table (references are
never pruned) and its candidate row is marked `superseded`: the history is kept.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from supervisor.acceptance.models import AcceptanceResult, ReferenceCandidate
from supervisor.core import audit
from supervisor.core.clock import now as clock_now
from supervisor.health import evidence
from supervisor.health.models import EvidenceFrame


class ReferenceError(ValueError):
    pass


def _image_passed(session: Session, cand: ReferenceCandidate) -> bool:
    checks = session.scalar(sa.select(AcceptanceResult.checks).where(
        AcceptanceResult.run_id == cand.run_id, AcceptanceResult.device_id == cand.device_id))
    return any(c.get("check") == "image" and c.get("verdict") == "pass" for c in checks or [])


def confirm(session: Session, cand: ReferenceCandidate, evidence_dir: Path | str, actor: Any,
            now: dt.datetime | None = None) -> EvidenceFrame:
    if cand.status != "candidate":
        raise ReferenceError(f"this frame is already {cand.status}")
    if not _image_passed(session, cand):
        raise ReferenceError("only a frame whose image diagnosis passed can become the reference")
    newer = session.scalar(sa.select(sa.func.max(EvidenceFrame.taken_at)).where(
        EvidenceFrame.device_id == cand.device_id, EvidenceFrame.kind == "reference"))
    if newer is not None and newer > cand.taken_at:
        raise ReferenceError("a newer reference is already in force for this device")
    root = Path(evidence_dir)
    jpeg = (root / cand.path).read_bytes()
    frame = evidence.save_frame(session, root, cand.device_id, "reference", jpeg, cand.taken_at,
                                cand.diagnosis)
    session.flush()
    for old in session.scalars(sa.select(ReferenceCandidate).where(
            ReferenceCandidate.device_id == cand.device_id,
            ReferenceCandidate.status == "confirmed")):
        old.status = "superseded"
    cand.status = "confirmed"
    cand.decided_by = (getattr(actor, "username", None) or str(actor))[:80]
    cand.decided_at = now or clock_now()
    cand.evidence_frame_id = frame.id
    audit.record(actor, "reference_confirm", "device", cand.device_id, None,
                 {"candidate": cand.id, "frame": frame.path})
    session.commit()
    return frame


def reject(session: Session, cand: ReferenceCandidate, actor: Any,
           now: dt.datetime | None = None) -> None:
    if cand.status != "candidate":
        raise ReferenceError(f"this frame is already {cand.status}")
    cand.status = "rejected"
    cand.decided_by = (getattr(actor, "username", None) or str(actor))[:80]
    cand.decided_at = now or clock_now()
    audit.record(actor, "reference_reject", "device", cand.device_id, None, {"candidate": cand.id})
    session.commit()
