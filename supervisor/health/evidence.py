"""Evidence frames on disk under EVIDENCE_DIR (instance/evidence by default).

Kinds: `reference` (taken at acceptance, kept for the contract's life: scene_change is
judged against it), `latest` (the newest frame per camera, and the one before it, which
`frozen` needs as "previous"), `ticket` (attached to a ticket). Files are written
atomically (temp + rename) as `<device_id>/<kind>-<UTC stamp>.jpg`; rows in
`evidence_frames` carry the relative path, size and diagnosis.

`prune()` (commits its own deletions) drops `latest` frames beyond the newest two per device, `ticket` frames older than
`retention.evidence_days`, then, while the folder is over `retention.evidence_mb`, the
oldest non-reference frames. Reference frames are never pruned.
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session

from supervisor.health.models import EvidenceFrame

KINDS = ("reference", "latest", "ticket")


def _safe_path(root: Path, rel: str) -> Optional[Path]:
    path = (root / rel).resolve()
    return path if root.resolve() in path.parents else None


def write_jpeg(root: Path | str, device_id: int, prefix: str, jpeg: bytes,
               taken_at: dt.datetime) -> str:
    """Write a frame atomically (a temporary file renamed into place, so a reader never sees
    half a JPEG) as `<device>/<prefix>-<time>.jpg` under `root`; returns that relative path."""
    root = Path(root)
    folder = root / str(int(device_id))
    folder.mkdir(parents=True, exist_ok=True)
    rel = f"{int(device_id)}/{prefix}-{taken_at.strftime('%Y%m%dT%H%M%S%f')}.jpg"
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(jpeg)
        os.replace(tmp, root / rel)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return rel


def save_frame(session: Session, root: Path | str, device_id: int, kind: str, jpeg: bytes,
               taken_at: dt.datetime, diagnosis: Optional[dict[str, Any]] = None,
               ticket_id: Optional[int] = None) -> EvidenceFrame:
    """Write the JPEG atomically and add its row (the caller commits)."""
    if kind not in KINDS:
        raise ValueError(f"unknown evidence kind {kind!r}")
    rel = write_jpeg(root, device_id, kind, jpeg, taken_at)
    row = EvidenceFrame(device_id=device_id, kind=kind, taken_at=taken_at, path=rel,
                        bytes=len(jpeg), diagnosis=diagnosis, ticket_id=ticket_id)
    session.add(row)
    return row


def latest_paths(session: Session, root: Path | str, device_ids: list[int]
                 ) -> dict[int, dict[str, Path]]:
    """Per device, the file of its newest `latest` frame ("previous") and its `reference`."""
    root = Path(root)
    out: dict[int, dict[str, Path]] = {}
    if not device_ids:
        return out
    ef = EvidenceFrame.__table__
    for kind, key in (("latest", "previous"), ("reference", "reference")):
        newest = (sa.select(ef.c.device_id, sa.func.max(ef.c.taken_at).label("t"))
                  .where(ef.c.kind == kind, ef.c.device_id.in_(device_ids))
                  .group_by(ef.c.device_id).subquery())
        rows = session.execute(sa.select(ef.c.device_id, ef.c.path).join(
            newest, sa.and_(ef.c.device_id == newest.c.device_id, ef.c.taken_at == newest.c.t))
            .where(ef.c.kind == kind))
        for dev, rel in rows:
            path = _safe_path(root, rel)
            if path is not None and path.exists():
                out.setdefault(dev, {})[key] = path
    return out


def prune(session: Session, root: Path | str, now: dt.datetime, max_mb: float,
          max_days: float, keep_latest: int = 2) -> dict[str, int]:
    """Apply the retention rules. Commits the row deletions, THEN unlinks the files, so a
    failed commit never leaves rows pointing at deleted files (a crash in between leaves
    at worst orphan files, which cost disk but no correctness)."""
    root = Path(root)
    ef = EvidenceFrame.__table__
    doomed: list[tuple[int, str]] = []
    # latest: keep the newest `keep_latest` per device
    rows = session.execute(sa.select(ef.c.id, ef.c.device_id, ef.c.path)
                           .where(ef.c.kind == "latest")
                           .order_by(ef.c.device_id, ef.c.taken_at.desc())).all()
    seen: dict[int, int] = {}
    for fid, dev, rel in rows:
        seen[dev] = seen.get(dev, 0) + 1
        if seen[dev] > keep_latest:
            doomed.append((fid, rel))
    cutoff = now - dt.timedelta(days=max_days)
    doomed += [(fid, rel) for fid, rel in session.execute(
        sa.select(ef.c.id, ef.c.path).where(ef.c.kind == "ticket", ef.c.taken_at < cutoff))]
    gone = {fid for fid, _ in doomed}
    total = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(ef.c.bytes), 0))) or 0
    total -= session.scalar(sa.select(sa.func.coalesce(sa.func.sum(ef.c.bytes), 0))
                            .where(ef.c.id.in_(gone))) or 0 if gone else 0
    cap = max_mb * 1024 * 1024
    if total > cap:
        for fid, rel, size in session.execute(
                sa.select(ef.c.id, ef.c.path, ef.c.bytes).where(ef.c.kind != "reference")
                .order_by(ef.c.taken_at)):
            if total <= cap:
                break
            if fid in gone:
                continue
            doomed.append((fid, rel))
            gone.add(fid)
            total -= size or 0
    for chunk in (doomed[i:i + 500] for i in range(0, len(doomed), 500)):
        session.execute(ef.delete().where(ef.c.id.in_([fid for fid, _ in chunk])))
    session.commit()
    removed = 0
    for _, rel in doomed:
        path = _safe_path(root, rel)
        if path is not None:
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
    return {"rows": len(doomed), "files": removed, "bytes_after": int(max(total, 0))}
