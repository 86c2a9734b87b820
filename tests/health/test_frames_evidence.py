"""Frames through the sweep: diagnosis in the process pool, image faults as degraded state,
findings carried by reach-only probes, evidence frames on disk and their pruning."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import cv2
import numpy as np
import skimage.data
import sqlalchemy as sa
from flask import current_app
from health_helpers import T0

from probes.model import FrameResult, ProbeResult, ReachResult
from supervisor.core.extensions import db
from supervisor.health import evidence
from supervisor.health.models import DeviceStatus, EvidenceFrame, StateInterval
from supervisor.sweeps.pipeline import run_sweep

MIN = dt.timedelta(minutes=1)


def jpeg(img_rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img_rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


_A = skimage.data.astronaut()
CLEAN = [jpeg(_A), jpeg(_A[:, ::-1].copy())]  # two different clean views (not frozen)
DARK = jpeg((_A * 0.2).astype(np.uint8))


class FrameExecutor:
    name = "frames"

    def __init__(self):
        self.at = T0
        self.frame = None  # bytes, or None for a reach-only probe

    def iter_results(self, targets, tier, limits, deadline_s):
        for t in targets:
            res = ProbeResult(serial=t.serial, tier=tier.name, started_at=self.at,
                              finished_at=self.at + dt.timedelta(seconds=1),
                              reach=ReachResult(ok=True, rtt_ms=0.3, ports_open=[8080]))
            if "frame" in tier.checks:
                res.frame = FrameResult(ok=True, source="snapshot", width=512, height=512,
                                        grabbed_at=self.at, jpeg=self.frame,
                                        size_bytes=len(self.frame))
            yield res


def sweep(ex, tier, i, frame=None):
    ex.at, ex.frame = T0 + i * MIN, frame
    return run_sweep(tier, ["CAM3"], executor=ex, clock=lambda: ex.at.replace(tzinfo=None), settings=current_app.extensions["settings"])


def test_image_fault_degrades_and_is_carried_until_a_clean_frame(app, inventory):
    ex = FrameExecutor()
    cam = inventory["CAM3"]
    sweep(ex, "fast", 0)
    sweep(ex, "fast", 1)
    assert db.session.get(DeviceStatus, cam).state == "ok"
    sweep(ex, "frame", 2, DARK)
    s = sweep(ex, "frame", 3, DARK)
    assert s.degraded == 1
    st = db.session.get(DeviceStatus, cam)
    db.session.refresh(st)
    assert st.state == "degraded" and st.cause == "image_fault"
    assert any(r.get("fault") == "too_dark" for r in st.reasons)
    # reach-only probes don't see the picture: the finding is carried, state stays
    sweep(ex, "fast", 4)
    sweep(ex, "fast", 5)
    db.session.refresh(st)
    assert st.state == "degraded"
    # clean, changing frames: back to ok after to_ok probes, from the first clean one
    sweep(ex, "frame", 6, CLEAN[0])
    sweep(ex, "frame", 7, CLEAN[1])
    db.session.refresh(st)
    assert st.state == "ok", st.reasons
    ivs = db.session.scalars(sa.select(StateInterval).filter_by(device_id=cam)
                             .order_by(StateInterval.start_at)).all()
    assert [(i.state, i.start_at.minute) for i in ivs] == [("ok", 0), ("degraded", 2), ("ok", 6)]

    frames = db.session.scalars(sa.select(EvidenceFrame).filter_by(device_id=cam)).all()
    assert len(frames) == 4 and {f.kind for f in frames} == {"latest"}
    root = Path(app.config["EVIDENCE_DIR"])
    assert all((root / f.path).stat().st_size == f.bytes for f in frames)
    assert frames[0].diagnosis["faults"] and not frames[-1].diagnosis["faults"]

    out = evidence.prune(db.session, root, (T0 + 10 * MIN).replace(tzinfo=None), max_mb=100,
                         max_days=30)
    db.session.commit()
    left = db.session.scalars(sa.select(EvidenceFrame).filter_by(device_id=cam)).all()
    assert out["rows"] == 2 and len(left) == 2
    assert sorted(p.name for p in (root / str(cam)).glob("*.jpg")) == sorted(
        Path(f.path).name for f in left)


def test_evidence_size_cap_keeps_reference_frames(app, inventory):
    root = Path(app.config["EVIDENCE_DIR"])
    cam = inventory["CAM1"]
    t = T0.replace(tzinfo=None)
    evidence.save_frame(db.session, root, cam, "reference", CLEAN[0], t)
    for i in range(5):
        evidence.save_frame(db.session, root, cam, "ticket", CLEAN[1], t + i * MIN)
    db.session.commit()
    cap_mb = (len(CLEAN[0]) + 2 * len(CLEAN[1])) / 1024 / 1024
    out = evidence.prune(db.session, root, t + 10 * MIN, max_mb=cap_mb, max_days=30)
    db.session.commit()
    kinds = db.session.scalars(sa.select(EvidenceFrame.kind).filter_by(device_id=cam)
                               .order_by(EvidenceFrame.taken_at)).all()
    assert kinds == ["reference", "ticket", "ticket"]
    assert out["bytes_after"] <= cap_mb * 1024 * 1024
    assert len(list((root / str(cam)).glob("*.jpg"))) == 3
