"""Per-camera calibration through the sweep: a camera without a reference keeps the measures
of its frames while it learns, the job learns once its first clean days are over, the sweep
then judges it against its learned normal; re-learning supersedes (history kept) and is
audited; a camera with a reference is judged against the reference and learns nothing."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import yaml
from flask import current_app

from probes.model import FrameResult, ProbeResult, ReachResult
from simulator.frames import render_jpeg
from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry
from supervisor.health import calibration, evidence
from supervisor.health.models import CalibrationFrame, EvidenceFrame, QualityCalibration
from supervisor.profiles.schema import parse_profile
from supervisor.sweeps.pipeline import diagnose_job, run_sweep

T = dt.datetime(2026, 3, 1, 0, 0)           # 08:00 in Asia/Shanghai: day figures
STEP = dt.timedelta(minutes=20)
TZ = "Asia/Shanghai"


def profile(learn_days: int = 1, min_frames: int = 12):
    from supervisor.profiles.loader import load_profile

    doc = yaml.safe_load(load_profile("default", 2, check_in_use=False).path.read_bytes())
    doc["image_quality"]["calibration"].update(learn_days=learn_days, min_frames=min_frames)
    return parse_profile(yaml.safe_dump(doc, allow_unicode=True).encode(), "test-v2.yaml")


def warm(i: int, faults=frozenset()) -> bytes:
    """The simulator's scene 0 under tungsten light its white balance left in."""
    return render_jpeg(0, 1, set(faults), now=1000.0 + 37 * i, tint="warm")


class OneFrame:
    name = "frames"

    def __init__(self):
        self.at, self.frame = T, b""

    def iter_results(self, targets, tier, limits, deadline_s):
        for t in targets:
            res = ProbeResult(serial=t.serial, tier=tier.name, started_at=self.at,
                              finished_at=self.at + dt.timedelta(seconds=1),
                              reach=ReachResult(ok=True, rtt_ms=0.3, ports_open=[8080]))
            res.frame = FrameResult(ok=True, source="snapshot", width=1280, height=720,
                                    grabbed_at=self.at, jpeg=self.frame, size_bytes=len(self.frame))
            yield res


def sweep(ex: OneFrame, at: dt.datetime, frame: bytes) -> dict:
    ex.at, ex.frame = at.replace(tzinfo=dt.timezone.utc), frame
    run_sweep("frame", ["CAM3"], executor=ex, clock=lambda: at,
              settings=current_app.extensions["settings"])
    latest = db.session.scalars(sa.select(EvidenceFrame).where(EvidenceFrame.kind == "latest")
                                .order_by(EvidenceFrame.taken_at.desc()).limit(1)).one()
    return latest.diagnosis


def faults(diagnosis: dict) -> set[str]:
    return {f["fault"] for f in diagnosis["faults"]}


def frames_kept(cam: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(CalibrationFrame)
                             .where(CalibrationFrame.device_id == cam))


def test_learn_then_judge_against_the_normal_then_relearn(app, inventory):
    learn_judge_relearn(inventory)


def test_learn_then_judge_against_the_normal_then_relearn_on_postgresql(pg_app, inventory):
    learn_judge_relearn(inventory)


def learn_judge_relearn(inventory):
    cam, ex, prof = inventory["CAM3"], OneFrame(), profile()
    for i in range(13):
        d = sweep(ex, T + i * STEP, warm(i))
        # by the fixed figures the warm interior reads as a colour cast
        assert faults(d) == {"color_cast"}, d["faults"]
        assert d["measures"].get("cast_vs_normal") is None
    assert frames_kept(cam) == 13
    # each kept frame carries its structure map; the evidence's diagnosis does not
    maps = db.session.scalars(sa.select(CalibrationFrame.measures)).all()
    assert all(calibration.STRUCTURE_KEY in m and m[calibration.STRUCTURE_KEY]["shape"] for m in maps)
    assert calibration.STRUCTURE_KEY not in d
    b = calibration.baseline(db.session, db.session.get(calibration.Device, cam), T + 13 * STEP, TZ,
                             calibration.LearnRule.from_profile(prof))
    assert b.kind == "learning" and (b.plan.frames_day, b.plan.frames_night, b.plan.clean_days) == (13, 0, 1)

    # the local day is not over: nothing learned yet; after local midnight it is
    assert calibration.learn_due(db.session, T + dt.timedelta(hours=10), TZ, profile=prof)["learned"] == 0
    counts = calibration.learn_due(db.session, T + dt.timedelta(hours=17), TZ, profile=prof)
    db.session.commit()
    assert counts == {"learning": 0, "learned": 1, "referenced": 0, "unclean": 0}
    row = db.session.scalars(sa.select(QualityCalibration)).one()
    assert (row.device_id, row.frames_day, row.frames_night, row.clean_days) == (cam, 13, 0, 1)
    assert row.superseded_at is None and row.data["day"] is not None and row.data["night"] is None
    assert (row.first_frame_at, row.last_frame_at) == (T, T + 12 * STEP)
    # learned: the maps live on as the calibration's medians; the frames keep their measures
    kept = db.session.scalars(sa.select(CalibrationFrame.measures)).all()
    assert len(kept) == 13 and all(calibration.STRUCTURE_KEY not in m and "noise" in m for m in kept)

    # learned: the same warm view raises nothing, measured against its normal
    day2 = T + dt.timedelta(days=1)
    d = sweep(ex, day2, warm(20))
    assert faults(d) == set(), d["faults"]
    assert d["measures"]["cast_vs_normal"] is not None and d["measures"]["cast_vs_normal"] < 5
    assert frames_kept(cam) == 13                   # no longer learning: nothing added
    # a real cast (failed IR-cut filter) on that camera is still found, against its normal
    d = sweep(ex, day2 + STEP, warm(21, {"color_cast"}))
    assert "color_cast" in faults(d)
    assert any(f["rule"] == "color_cast_vs_normal" for f in d["faults"]), d["faults"]
    # learned by day where the view shows detail: a dark body over half the lens is found
    # against it (the fixed no-reference figures need a near-total cover)
    assert row.data["day"]["structure"]["shape"]
    d = sweep(ex, day2 + STEP + dt.timedelta(minutes=5), warm(24, {"occlusion"}))
    assert any(f["rule"] == "occlusion_cover_vs_normal" for f in d["faults"]), d["faults"]
    assert calibration.STRUCTURE_KEY not in d

    # a person confirms the view changed: superseded (kept), frames forgotten, audited
    old = calibration.relearn(db.session, db.session.get(calibration.Device, cam),
                              day2 + 2 * STEP, "tester", "view_changed")
    db.session.commit()
    assert old.id == row.id and old.superseded_reason == "view_changed" and old.superseded_by == "tester"
    assert frames_kept(cam) == 0
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "calibration_relearn")).one()
    assert entry.entity_key == "CAM3" and entry.after["reason"] == "view_changed"
    assert entry.before["calibration"] == row.id
    # learning again: fixed figures, frames kept again
    d = sweep(ex, day2 + 3 * STEP, warm(22))
    assert faults(d) == {"color_cast"}
    assert frames_kept(cam) == 1
    for i in range(12):
        sweep(ex, day2 + (4 + i) * STEP, warm(23 + i))
    calibration.learn_due(db.session, day2 + dt.timedelta(hours=17), TZ, profile=prof)
    db.session.commit()
    rows = db.session.scalars(sa.select(QualityCalibration).order_by(QualityCalibration.id)).all()
    assert len(rows) == 2 and rows[0].superseded_at is not None and rows[1].superseded_at is None
    assert calibration.in_force(db.session, [cam]) == {cam: rows[1].data}


def test_a_camera_with_a_reference_is_judged_against_it_and_learns_nothing(app, inventory):
    cam, ex = inventory["CAM3"], OneFrame()
    sweep(ex, T, warm(0))
    assert frames_kept(cam) == 1
    # a calibration in force and then a confirmed reference: the reference wins
    db.session.add(QualityCalibration(device_id=cam, learned_at=T, first_frame_at=T, last_frame_at=T,
                                      frames_day=12, frames_night=0, clean_days=1,
                                      data={"version": 1, "day": None, "night": None}))
    evidence.save_frame(db.session, current_app.config["EVIDENCE_DIR"], cam, "reference",
                        warm(1), T + STEP)
    db.session.commit()
    d = sweep(ex, T + 2 * STEP, warm(2))
    assert d["measures"].get("cast_vs_normal") is None
    assert d["measures"].get("scene_similarity") is not None       # judged with the reference
    assert faults(d) == set(), d["faults"]
    assert frames_kept(cam) == 1
    # the job drops what it had collected and learns nothing for it
    counts = calibration.learn_due(db.session, T + dt.timedelta(days=9), TZ, profile=profile())
    db.session.commit()
    assert counts["referenced"] == 1 and frames_kept(cam) == 0
    assert calibration.baseline(db.session, db.session.get(calibration.Device, cam), T, TZ).kind == "reference"


def test_unclean_frames_are_not_kept(app, inventory):
    """A frame with a fault learning does not re-judge is not kept; frames a person's ticket
    covers are dropped by the job (they can never be learned from)."""
    from supervisor.tickets.models import Ticket

    cam, ex = inventory["CAM3"], OneFrame()
    sweep(ex, T, warm(0, {"too_dark"}))
    assert frames_kept(cam) == 0
    for i in range(3):
        sweep(ex, T + (1 + i) * STEP, warm(1 + i))
    assert frames_kept(cam) == 3
    db.session.add(Ticket(device_id=cam, family="color_cast", source="manual", title="warm?",
                          severity="minor", policy="default@2", calendar_id=1, state="open",
                          opened_at=T + 1.5 * STEP, closed_at=T + 2.5 * STEP))
    db.session.flush()
    counts = calibration.learn_due(db.session, T + dt.timedelta(hours=1), TZ, profile=profile())
    assert counts == {"learning": 1, "learned": 0, "referenced": 0, "unclean": 1}
    assert frames_kept(cam) == 2


def test_only_cameras_learn(app, inventory):
    sw = db.session.get(calibration.Device, inventory["SW1"])
    assert calibration.baseline(db.session, sw, T, TZ) is None
    n = calibration.record_frames(db.session, {sw.id: {"measures": {"brightness": 1.0}, "night": False,
                                                       "faults": []}}, {sw.id: T})
    assert n == 0


def test_an_unusable_stored_calibration_falls_back_to_the_fixed_figures():
    d = diagnose_job(warm(0), None, None, T.isoformat(), {"version": 99, "day": None})
    assert "error" not in d and "color_cast" in faults(d)
    assert d["measures"].get("cast_vs_normal") is None


def test_flask_quality_calibrate(app, inventory):
    cam = inventory["CAM3"]
    for i in range(13):
        db.session.add(CalibrationFrame(device_id=cam, at=T + i * STEP, night=False, faults=[],
                                        measures={"brightness": 100.0}))
    db.session.commit()
    run = app.test_cli_runner().invoke
    out = run(args=["quality", "calibrate", "--device", "CAM3"])
    assert out.exit_code == 0, out.output
    assert "still learning: 1 of 7 clean days, day 13 of 12 frames, night 0 of 12" in out.output
    bad = run(args=["quality", "calibrate", "--device", "SW1"])
    assert bad.exit_code != 0 and "only cameras" in bad.output
    assert run(args=["quality", "calibrate", "--device", "NOPE"]).exit_code != 0
    assert run(args=["quality", "calibrate", "--relearn"]).exit_code != 0
    # every camera: the job's counts (CAM3 is still within its 7 clean days)
    out = run(args=["quality", "calibrate"])
    assert out.exit_code == 0 and "learning=1 learned=0 referenced=0 unclean=0" in out.output, out.output

    db.session.add(QualityCalibration(device_id=cam, learned_at=T, first_frame_at=T, last_frame_at=T,
                                      frames_day=13, frames_night=0, clean_days=7,
                                      data={"version": 1, "day": None, "night": None}))
    db.session.commit()
    out = run(args=["quality", "calibrate", "--device", "CAM3"])
    assert "learned normal of 2026-03-01 00:00Z from 13 day and 0 night frames over 7 clean days" in out.output
    out = run(args=["quality", "calibrate", "--device", "CAM3", "--relearn", "--reason", "view_changed"])
    assert out.exit_code == 0 and "superseded (view_changed); learning again" in out.output, out.output
    db.session.expire_all()
    assert calibration.in_force(db.session, [cam]) == {} and frames_kept(cam) == 0
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "calibration_relearn")).one()
    assert entry.actor.startswith("cli:") and entry.after == {"reason": "view_changed", "frames_dropped": 13}
    out = run(args=["quality", "calibrate", "--device", "CAM3", "--relearn"])
    assert "learning started again (requested)" in out.output
