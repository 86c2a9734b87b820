"""Per-camera image calibration: a camera without an acceptance reference learns its own
normal range and the sweep judges it against that (``probes.quality.calibration``).

A camera with a confirmed acceptance reference is judged against the reference and never
learns. One without (installed before the platform, or never accepted) is judged by the
profile's fixed figures until it has learned; a warm interior or a view full of blue sky
reads as a colour cast by those figures, so learning is what lets it be judged fairly.

- While a camera learns (a camera, no reference, no calibration in force) the sweep keeps
  the measures and night flag of each of its diagnosed frames (``record_frames`` →
  ``quality_calibration_frames``).
- ``plan`` (pure, takes ``now``) decides from those frames and the camera's image tickets
  whether it can learn now: the frames of its first ``learn_days`` clean days (days with at
  least one clean frame, in the reporting time zone), learned once the last of those days
  is over and at least one half (day, night) has ``min_frames`` clean frames; a half with
  fewer stays unlearned and is judged by the fixed figures. Both figures come from the
  profile's ``image_quality.calibration`` section.
- A clean frame: its diagnosis had no fault but those a learned normal re-judges (colour
  cast, noise, blur — by the fixed no-reference figures, which is exactly what reads a warm
  interior as a cast) and none of those at critical severity, and no image ticket covered
  its time, except a ticket the health scan opened for one of those three faults that was
  not closed as repaired (it only restates the fixed figure's finding). A ticket a person
  opened, or one for any other image fault, or one closed repaired, excludes its span.
- ``learn_due`` (the scheduler's job ``quality:calibrate``, ``flask quality calibrate``)
  learns and stores every camera whose plan is ready, and drops kept frames that can never
  be clean (so a camera that cannot learn does not pile up rows); ``relearn`` (a person confirmed a
  changed view, or asked) supersedes the calibration in force, forgets the collected frames
  and starts learning again, audited. History is kept in ``quality_calibrations``.
- ``in_force`` gives the sweep each device's calibration data (``Calibration.as_dict()``).
- ``baseline`` says what a camera is judged against, for the device page.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from probes.quality.calibration import STRUCTURE_KEY, learn
from supervisor.core import audit
from supervisor.core.choices import IMAGE_FAULTS, DeviceKind
from supervisor.health.models import CalibrationFrame, EvidenceFrame, QualityCalibration
from supervisor.inventory.models import Contract, Device

log = logging.getLogger(__name__)

# The faults a learned normal re-judges (probes.quality.diagnose judges them against the
# camera's normal instead of the fixed no-reference figures once it has one).
CALIBRATED_FAULTS = frozenset({"color_cast", "noise", "blur"})
IMAGE_FAMILIES = frozenset(IMAGE_FAULTS) | {"image"}
RELEARN_REASONS = ("view_changed", "requested")


@dataclass(frozen=True)
class LearnRule:
    """The profile's ``image_quality.calibration`` (these defaults for a profile without it,
    the figures default@2 cites)."""

    learn_days: int = 7
    min_frames: int = 12
    clause: str = "platform practice (no published figure): 7 clean days, 12 clean frames a half"

    @classmethod
    def from_profile(cls, profile: Any) -> "LearnRule":
        sec = getattr(profile, "quality_calibration", None)
        if sec is None:
            return cls()
        return cls(int(sec.learn_days), int(sec.min_frames), str(sec.clause))


@dataclass(frozen=True)
class FrameSample:
    """What the learning rule reads of one stored frame."""

    at: dt.datetime
    night: bool
    measures: Mapping[str, Any]
    faults: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class TicketSpan:
    """One ticket of the camera: family, who opened it, when, and how it ended."""

    family: str
    source: str                        # health | manual
    opened_at: dt.datetime
    closed_at: Optional[dt.datetime] = None
    outcome: Optional[str] = None      # repaired | recovered | invalid


@dataclass
class Plan:
    ready: bool
    clean_days: int                    # clean days seen (all of them, not only those used)
    frames_day: int                    # clean frames of the days used (or seen, if not ready)
    frames_night: int
    rule: LearnRule
    use: list[FrameSample] = field(default_factory=list)  # what learn() gets when ready
    days_used: int = 0                                    # clean days those frames span


def _excludes(t: TicketSpan) -> bool:
    if t.family not in IMAGE_FAMILIES:
        return False
    return (t.source != "health" or t.family not in CALIBRATED_FAULTS
            or t.outcome == "repaired")


def frame_is_clean(frame: FrameSample, tickets: Iterable[TicketSpan]) -> bool:
    for f in frame.faults:
        if f.get("fault") not in CALIBRATED_FAULTS or f.get("severity") == "critical":
            return False
    for t in tickets:
        if _excludes(t) and t.opened_at <= frame.at and (t.closed_at is None or frame.at < t.closed_at):
            return False
    return True


def plan(frames: Iterable[FrameSample], tickets: Sequence[TicketSpan], now: dt.datetime,
         rule: LearnRule, tz: str = "Asia/Shanghai") -> Plan:
    """Whether the camera can learn at ``now`` (naive UTC), and from which frames."""
    zone = ZoneInfo(tz)

    def day_of(t: dt.datetime) -> dt.date:
        return t.replace(tzinfo=dt.timezone.utc).astimezone(zone).date()

    clean = sorted((f for f in frames if f.at <= now and frame_is_clean(f, tickets)),
                   key=lambda f: f.at)
    days = sorted({day_of(f.at) for f in clean})
    today = day_of(now)
    for k in range(rule.learn_days, len(days) + 1):
        last = days[k - 1]
        if last >= today:      # that day is not over: its later frames belong to it too
            break
        use = [f for f in clean if day_of(f.at) <= last]
        n_day = sum(1 for f in use if not f.night)
        n_night = len(use) - n_day
        if n_day >= rule.min_frames or n_night >= rule.min_frames:
            use = [f for f in use if (n_night if f.night else n_day) >= rule.min_frames]
            return Plan(True, len(days), n_day, n_night, rule, use, k)
    n_day = sum(1 for f in clean if not f.night)
    return Plan(False, len(days), n_day, len(clean) - n_day, rule)


# --------------------------------------------------------------------------- store

def rules_for(session: Session, device_ids: Sequence[int], default: Any = None) -> dict[int, LearnRule]:
    """Each device's rule from its contract's profile version (the default profile's, else
    the built-in defaults, for a device whose profile can't be loaded or has no contract)."""
    from supervisor.profiles.loader import ProfileError, load_profile

    try:
        fallback = LearnRule.from_profile(default if default is not None else load_profile())
    except ProfileError:
        fallback = LearnRule()
    out = {d: fallback for d in device_ids}
    cache: dict[tuple[str, int], LearnRule] = {}
    rows = session.execute(sa.select(Device.id, Contract.profile_name, Contract.profile_version)
                           .join(Contract, Contract.id == Device.contract_id)
                           .where(Device.id.in_(list(device_ids))))
    for dev, name, version in rows:
        key = (name, int(version))
        if key not in cache:
            try:
                cache[key] = LearnRule.from_profile(load_profile(name, version))
            except ProfileError as exc:
                log.error("contract profile %s@%s unusable for calibration: %s", name, version, exc)
                cache[key] = fallback
        out[dev] = cache[key]
    return out


def in_force(session: Session, device_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Per device, the data of its calibration in force (``Calibration.as_dict()``)."""
    if not device_ids:
        return {}
    qc = QualityCalibration.__table__
    return {dev: data for dev, data in session.execute(
        sa.select(qc.c.device_id, qc.c.data).where(qc.c.device_id.in_(list(device_ids)),
                                                   qc.c.superseded_at.is_(None)))}


def _with_reference(session: Session, device_ids: Sequence[int]) -> set[int]:
    ef = EvidenceFrame.__table__
    return set(session.scalars(sa.select(ef.c.device_id).distinct().where(
        ef.c.kind == "reference", ef.c.device_id.in_(list(device_ids)))))


def _faults_of(diagnosis: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"fault": f.get("fault"), "severity": f.get("severity"), "rule": f.get("rule")}
            for f in diagnosis.get("faults") or []]


def record_frames(session: Session, diagnoses: Mapping[int, Mapping[str, Any]],
                  taken_at: Mapping[int, dt.datetime], has_reference: Iterable[int] = (),
                  calibrated: Iterable[int] = (),
                  structures: Optional[Mapping[int, Mapping[str, Any]]] = None) -> int:
    """Keep the measures of the diagnosed frames of cameras that are learning (the caller
    commits): every camera but those in ``has_reference`` (judged against a reference this
    time) and ``calibrated`` (a calibration in force). A frame whose faults alone already make
    it unclean is not kept: it could never be learned from. ``structures``: the frames'
    packed structure maps (``diagnose(keep_structure=True)``), kept among their measures
    under ``STRUCTURE_KEY`` (what the learned cover judgement is learned from)."""
    skip = set(has_reference) | set(calibrated)
    cand = [d for d, diag in diagnoses.items()
            if d not in skip and d in taken_at and not diag.get("error") and diag.get("measures")
            and frame_is_clean(FrameSample(taken_at[d], False, {}, _faults_of(diag)), ())]
    if not cand:
        return 0
    cameras = set(session.scalars(sa.select(Device.id).where(
        Device.id.in_(cand), Device.kind == DeviceKind.CAMERA)))
    rows = [{"device_id": d, "at": taken_at[d], "night": bool(diagnoses[d].get("night")),
             "faults": _faults_of(diagnoses[d]),
             "measures": {**diagnoses[d]["measures"],
                          **({STRUCTURE_KEY: structures[d]} if structures and d in structures else {})}}
            for d in cand if d in cameras]
    if rows:
        from supervisor.health.store import _insert

        session.execute(_insert(session, CalibrationFrame.__table__).on_conflict_do_nothing(
            index_elements=["device_id", "at"]), rows)
    return len(rows)


def _samples(session: Session, device_id: int) -> list[FrameSample]:
    cf = CalibrationFrame.__table__
    return [FrameSample(at, bool(night), measures or {}, faults or [])
            for at, night, measures, faults in session.execute(
                sa.select(cf.c.at, cf.c.night, cf.c.measures, cf.c.faults)
                .where(cf.c.device_id == device_id).order_by(cf.c.at))]


def _tickets(session: Session, device_id: int) -> list[TicketSpan]:
    from supervisor.tickets.models import Ticket

    return [TicketSpan(fam, src, opened, closed, outcome) for fam, src, opened, closed, outcome in
            session.execute(sa.select(Ticket.family, Ticket.source, Ticket.opened_at,
                                      Ticket.closed_at, Ticket.outcome)
                            .where(Ticket.device_id == device_id))]


def progress(session: Session, device_id: int, now: dt.datetime, rule: LearnRule,
             tz: str = "Asia/Shanghai") -> Plan:
    return plan(_samples(session, device_id), _tickets(session, device_id), now, rule, tz)


def store(session: Session, device_id: int, p: Plan, now: dt.datetime) -> QualityCalibration:
    """Learn from a ready plan and add the row in force (the caller commits)."""
    cal = learn((f.measures, f.night) for f in p.use)
    n_day = sum(1 for f in p.use if not f.night)
    row = QualityCalibration(device_id=device_id, learned_at=now,
                             first_frame_at=min(f.at for f in p.use),
                             last_frame_at=max(f.at for f in p.use),
                             frames_day=n_day, frames_night=len(p.use) - n_day,
                             clean_days=p.days_used,
                             data=cal.as_dict())
    session.add(row)
    _forget_structure(session, device_id)
    session.flush()
    return row


def _forget_structure(session: Session, device_id: int) -> None:
    """Drop the structure maps from a camera's kept frames once it has learned: the medians
    live in its calibration, and the maps (about 10 kB a 1080p day frame, against 2 kB of
    scalar measures) would otherwise stay for every camera ever learned. The scalar
    measures stay, so the rest of the normal can be recomputed from them."""
    cf = CalibrationFrame.__table__
    for fid, measures in session.execute(sa.select(cf.c.id, cf.c.measures).where(cf.c.device_id == device_id)).all():
        if measures and STRUCTURE_KEY in measures:
            session.execute(cf.update().where(cf.c.id == fid).values(
                measures={k: v for k, v in measures.items() if k != STRUCTURE_KEY}))


def learn_due(session: Session, now: dt.datetime, tz: str = "Asia/Shanghai",
              device_ids: Optional[Sequence[int]] = None, profile: Any = None) -> dict[str, int]:
    """Learn every learning camera whose plan is ready (the caller commits). A camera that
    got a reference meanwhile learns nothing; its collected frames are dropped."""
    cf = CalibrationFrame.__table__
    q = sa.select(cf.c.device_id).distinct()
    if device_ids is not None:
        q = q.where(cf.c.device_id.in_(list(device_ids)))
    devices = list(session.scalars(q))
    # learning / learned: cameras; referenced: cameras that got a reference (frames dropped);
    # unclean: kept frames dropped because a ticket made them unclean
    counts = {"learning": 0, "learned": 0, "referenced": 0, "unclean": 0}
    if not devices:
        return counts
    referenced = _with_reference(session, devices)
    if referenced:
        session.execute(cf.delete().where(cf.c.device_id.in_(sorted(referenced))))
        counts["referenced"] = len(referenced)
    current = set(in_force(session, devices))
    rules = rules_for(session, devices, profile)
    for dev in devices:
        if dev in referenced or dev in current:
            continue
        samples, tickets = _samples(session, dev), _tickets(session, dev)
        # A frame a ticket made unclean stays unclean (a ticket's span and who opened it do
        # not change; a repair only adds exclusions): drop it, so a camera that cannot learn
        # yet does not pile up frames.
        unclean = [f.at for f in samples if not frame_is_clean(f, tickets)]
        if unclean:
            session.execute(cf.delete().where(cf.c.device_id == dev, cf.c.at.in_(unclean)))
            counts["unclean"] += len(unclean)
        p = plan(samples, tickets, now, rules[dev], tz)
        if p.ready:
            store(session, dev, p, now)
            counts["learned"] += 1
        else:
            counts["learning"] += 1
    return counts


def relearn(session: Session, device: Device, now: dt.datetime, actor: Any,
            reason: str) -> Optional[QualityCalibration]:
    """Supersede the calibration in force (returned, or None while it was still learning)
    and start learning again from the next frame. Audited; the caller commits."""
    if reason not in RELEARN_REASONS:
        raise ValueError(f"reason must be one of {RELEARN_REASONS}")
    row = session.scalar(sa.select(QualityCalibration).where(
        QualityCalibration.device_id == device.id, QualityCalibration.superseded_at.is_(None)))
    who = (getattr(actor, "username", None) or str(actor))[:80]
    before = None
    if row is not None:
        before = {"calibration": row.id, "learned_at": row.learned_at,
                  "frames_day": row.frames_day, "frames_night": row.frames_night}
        row.superseded_at = now
        row.superseded_reason = reason
        row.superseded_by = who
    cf = CalibrationFrame.__table__
    dropped = session.execute(cf.delete().where(cf.c.device_id == device.id)).rowcount
    audit.record(actor, "calibration_relearn", "device", device.serial, before,
                 {"reason": reason, "frames_dropped": dropped})
    session.flush()
    return row


@dataclass
class Baseline:
    """What a camera's picture is judged against, for the device page."""

    kind: str                                   # reference | learned | learning
    calibration: Optional[QualityCalibration] = None
    plan: Optional[Plan] = None
    reference_at: Optional[dt.datetime] = None


def baseline(session: Session, device: Device, now: dt.datetime, tz: str = "Asia/Shanghai",
             rule: Optional[LearnRule] = None) -> Optional[Baseline]:
    """None for a device that is not a camera."""
    if device.kind != DeviceKind.CAMERA:
        return None
    ref_at = session.scalar(sa.select(sa.func.max(EvidenceFrame.taken_at)).where(
        EvidenceFrame.device_id == device.id, EvidenceFrame.kind == "reference"))
    if ref_at is not None:
        return Baseline("reference", reference_at=ref_at)
    row = session.scalar(sa.select(QualityCalibration).where(
        QualityCalibration.device_id == device.id, QualityCalibration.superseded_at.is_(None)))
    if row is not None:
        return Baseline("learned", calibration=row)
    rule = rule or rules_for(session, [device.id])[device.id]
    return Baseline("learning", plan=progress(session, device.id, now, rule, tz))
