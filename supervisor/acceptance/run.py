"""One acceptance run of a community: measure → judge → keep → lifecycle → coverage.

    run = run_acceptance(session, community, actor="police1", evidence_dir=...,
                         serials=None, progress=lambda done, total, serial: ...)

Every attempt is an ``AcceptanceRun`` with one ``AcceptanceResult`` per device (its checks
and the figures behind them) and, per camera with a frame, a ``ReferenceCandidate``. A
device that passes becomes ``accepted`` (``accepted_on`` = the local day) and counts in its
contract's figures from then on; one that fails stays ``installed`` (an already accepted
device that fails a re-acceptance keeps its status: the failed attempt is kept and shown).
The community passes when every device of the run passes and no required role slot is
empty; the coverage figure is kept as a ``CoverageSnapshot``.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session

from probes.model import DeviceTarget

from supervisor.acceptance import coverage as cov
from supervisor.acceptance.checks import FAIL, PASS, DeviceFacts, Measured, judge_device, main_profile
from supervisor.acceptance.credentials import for_vendor
from supervisor.acceptance.measure import Job, measure
from supervisor.acceptance.models import (AcceptanceResult, AcceptanceRun, CoverageSnapshot,
                                          ReferenceCandidate)
from supervisor.core import audit, localtime
from supervisor.core.choices import DeviceKind, Lifecycle
from supervisor.core.clock import now as clock_now
from supervisor.inventory.models import Community, Contract, Device
from supervisor.health import evidence

Progress = Callable[[int, int, str], None]


class AcceptanceError(ValueError):
    """The run cannot start (unknown community or device serials)."""


def community_profile(session: Session, community: Community) -> Any:
    """The profile of the community's contract (the first by code), else the latest default."""
    from supervisor.profiles.loader import load_profile, profile_for
    contract = session.scalars(
        sa.select(Contract).join(Device, Device.contract_id == Contract.id)
        .where(Device.community_id == community.id).order_by(Contract.code).limit(1)).first()
    return profile_for(contract) if contract is not None else load_profile()


def _target(dev: Device) -> DeviceTarget:
    snmp = dev.snmp_port if dev.kind == DeviceKind.SWITCH else None
    return DeviceTarget(serial=dev.serial, host=dev.ip, kind=dev.kind,
                        onvif_port=dev.onvif_port if dev.kind != DeviceKind.SWITCH else None,
                        username=dev.username, password=dev.password, snmp_port=snmp,
                        snmp_community=dev.snmp_community, snmp_version=dev.snmp_version or "2c",
                        snmp_user=dev.snmp_user, snmp_auth_key=dev.snmp_auth_key,
                        snmp_priv_key=dev.snmp_priv_key,
                        snmp_auth_protocol=dev.snmp_auth_protocol or "SHA",
                        snmp_priv_protocol=dev.snmp_priv_protocol or "AES")


def pair_speakers(devices: list[Device]) -> dict[int, Optional[Device]]:
    """Fire-lane camera id -> its speaker. The inventory has no pairing column: cameras and
    speakers of the community are paired in inventory order (by id), one to one."""
    cams = sorted((d for d in devices if d.kind == DeviceKind.CAMERA and d.role == "fire_lane"),
                  key=lambda d: d.id)
    speakers = sorted((d for d in devices if d.kind == DeviceKind.SPEAKER), key=lambda d: d.id)
    return {c.id: (speakers[i] if i < len(speakers) else None) for i, c in enumerate(cams)}


def _save_jpeg(root: Path, device_id: int, jpeg: bytes, taken_at: dt.datetime) -> str:
    return evidence.write_jpeg(root, device_id, "acceptance", jpeg, taken_at)


def start_run(session: Session, community: Community, actor_name: str, profile: Any,
              total: int, now: dt.datetime) -> AcceptanceRun:
    run = AcceptanceRun(community_id=community.id, started_at=now, status="running",
                        run_by=actor_name[:80], profile_name=profile.name,
                        profile_version=profile.version, profile_sha256=profile.sha256,
                        devices_total=total, devices_done=0)
    session.add(run)
    session.commit()
    return run


def select_devices(session: Session, community: Community,
                   serials: Optional[Iterable[str]]) -> tuple[list[Device], list[Device]]:
    """(devices to accept, every non-retired device of the community)."""
    everyone = list(session.scalars(sa.select(Device).where(
        Device.community_id == community.id, Device.lifecycle != Lifecycle.RETIRED)
        .order_by(Device.id)))
    if serials is None:
        return everyone, everyone
    wanted = [s.strip() for s in serials if s and s.strip()]
    by_serial = {d.serial: d for d in everyone}
    missing = [s for s in wanted if s not in by_serial]
    if missing:
        raise AcceptanceError(f"not devices of {community.name}: {', '.join(missing)}")
    return [by_serial[s] for s in dict.fromkeys(wanted)], everyone


def run_acceptance(session: Session, community: Community, *, actor: Any, evidence_dir: Path | str,
                   serials: Optional[Iterable[str]] = None, profile: Any = None,
                   progress: Optional[Progress] = None, concurrency: int = 32,
                   run: Optional[AcceptanceRun] = None,
                   now: Callable[[], dt.datetime] = clock_now,
                   quality_workers: Optional[int] = None) -> AcceptanceRun:
    from probes.quality import QualityPool

    profile = profile if profile is not None else community_profile(session, community)
    chosen, everyone = select_devices(session, community, serials)
    actor_name = getattr(actor, "username", None) or str(actor or "cli")
    if run is None:
        run = start_run(session, community, actor_name, profile, len(chosen), now())
    run_id = run.id
    root = Path(evidence_dir)
    pairs = pair_speakers(everyone)
    # Paired speakers are measured too (their answer is the camera's speaker check),
    # judged only when they are among the devices being accepted.
    helpers = {s.id: s for c, s in pairs.items() if s is not None
               and any(d.id == c for d in chosen) and all(d.id != s.id for d in chosen)}
    measured_devices = chosen + list(helpers.values())
    jobs = []
    for d in measured_devices:
        t = _target(d)
        logins = for_vendor(d.vendor, (d.username, d.password)) if t.onvif_port else []
        jobs.append(Job(t, logins))
    chosen_serials = {d.serial for d in chosen}
    total = len(measured_devices)
    session.rollback()  # no read transaction held during the probe phase

    done = 0

    def on_done(serial: str, _m: Measured) -> None:
        nonlocal done
        done += 1
        if serial in chosen_serials:
            session.execute(sa.update(AcceptanceRun).where(AcceptanceRun.id == run_id)
                            .values(devices_done=AcceptanceRun.devices_done + 1))
            session.commit()
        if progress is not None:
            progress(done, total, serial)

    section = getattr(profile, "image_quality", None)
    try:
        with QualityPool(workers=quality_workers or min(2, os.cpu_count() or 1),
                         section=section) as quality:
            results = asyncio.run(measure(jobs, quality=quality, concurrency=concurrency,
                                          on_done=on_done))
        finished = now()
        _store(session, run_id, community, chosen, everyone, pairs, results, profile, root,
               actor, finished)
    except BaseException as exc:
        session.rollback()
        session.execute(sa.update(AcceptanceRun).where(AcceptanceRun.id == run_id).values(
            status="failed", finished_at=now(), error=f"{type(exc).__name__}: {exc}"[:500]))
        session.commit()
        raise
    return session.get(AcceptanceRun, run_id)


def _store(session: Session, run_id: int, community: Community, chosen: list[Device],
           everyone: list[Device], pairs: dict[int, Optional[Device]],
           results: dict[str, Measured], profile: Any, root: Path, actor: Any,
           finished: dt.datetime) -> None:
    run = session.get(AcceptanceRun, run_id)
    devices = {d.id: session.get(Device, d.id) for d in everyone}
    cameras = [d.serial for d in devices.values() if d.kind == DeviceKind.CAMERA]
    slots = profile.required_slots(community.type)
    verdicts = []
    reached: dict[int, bool] = {}
    sizes: dict[int, tuple[Optional[int], Optional[int]]] = {}
    for d0 in chosen:
        d = devices[d0.id]
        m = results[d.serial]
        speaker = pairs.get(d.id) if d.role == "fire_lane" else None
        facts = DeviceFacts(
            serial=d.serial, kind=d.kind, role=d.role, vendor=d.vendor, model=d.model, mac=d.mac,
            has_onvif=bool(d.onvif_port), cameras=cameras if d.kind == DeviceKind.NVR else [],
            powered=[x.serial for x in devices.values() if x.upstream_id == d.id
                     and x.kind in (DeviceKind.CAMERA, DeviceKind.SPEAKER)],
            speaker=speaker.serial if speaker is not None else None,
            speaker_answers=(bool(results[speaker.serial].probe.reachable)
                             if speaker is not None and speaker.serial in results else None))
        slot = slots.get(d.role or "")
        verdict, checks = judge_device(facts, m, profile,
                                       slot.min_resolution if slot is not None else None)
        on = m.probe.onvif
        main = main_profile(on.profiles) if on is not None else None
        measures = {"width": main.width if main else None, "height": main.height if main else None,
                    "clock_offset_s": on.clock_offset_s if on is not None else None,
                    "reachable": bool(m.probe.reachable)}
        frame_rel = None
        fr = m.probe.frame
        if fr is not None and fr.ok and fr.jpeg:
            taken = (fr.grabbed_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
                     if fr.grabbed_at else finished)
            frame_rel = _save_jpeg(root, d.id, fr.jpeg, taken)
            session.add(ReferenceCandidate(device_id=d.id, run_id=run_id, taken_at=taken,
                                           path=frame_rel, diagnosis=m.diagnosis,
                                           status="candidate"))
        session.add(AcceptanceResult(run_id=run_id, device_id=d.id, serial=d.serial,
                                     verdict=verdict, checks=[c.to_dict() for c in checks],
                                     frame_path=frame_rel, measures=measures,
                                     finished_at=finished))
        reached[d.id] = bool(m.probe.reachable)
        sizes[d.id] = (measures["width"], measures["height"])
        verdicts.append(verdict)
        if verdict == PASS and d.lifecycle != Lifecycle.ACCEPTED:
            before = {"lifecycle": d.lifecycle, "accepted_on": str(d.accepted_on or "")}
            d.lifecycle = Lifecycle.ACCEPTED
            d.accepted_on = localtime.to_local(finished).date()
            audit.record(actor, "accept", "device", d.serial, before,
                         {"lifecycle": d.lifecycle, "accepted_on": str(d.accepted_on)},
                         note=f"acceptance run {run_id}")
    session.flush()
    coverage = community_coverage(session, community, profile, reached, sizes)
    run.coverage = coverage
    run.verdict = PASS if verdicts and all(v == PASS for v in verdicts) and coverage["missing"] == 0 \
        else FAIL
    run.status = "done"
    run.finished_at = finished
    run.devices_done = len(chosen)
    session.add(CoverageSnapshot(community_id=community.id, at=finished,
                                 required=coverage["required"], filled=coverage["filled"],
                                 figure=coverage["figure"], slots=coverage["slots"], run_id=run_id))
    audit.record(actor, "acceptance", "community", community.name, None,
                 {"run": run_id, "verdict": run.verdict, "devices": len(chosen),
                  "coverage": coverage["figure"]})
    session.commit()


def community_coverage(session: Session, community: Community, profile: Any,
                       reached: Optional[dict[int, bool]] = None,
                       sizes: Optional[dict[int, tuple[Optional[int], Optional[int]]]] = None
                       ) -> dict[str, Any]:
    """Coverage now: accepted devices, online by this run's reach (when measured) else by
    their stored state, main-stream size from this run or their latest passing acceptance."""
    from supervisor.health.models import DeviceStatus
    reached = reached or {}
    sizes = dict(sizes or {})
    cams = list(session.scalars(sa.select(Device).where(
        Device.community_id == community.id, Device.kind == DeviceKind.CAMERA,
        Device.lifecycle != Lifecycle.RETIRED)))
    ids = [c.id for c in cams]
    states = dict(session.execute(sa.select(DeviceStatus.device_id, DeviceStatus.state)
                                  .where(DeviceStatus.device_id.in_(ids))).all()) if ids else {}
    missing_sizes = [i for i in ids if i not in sizes]
    if missing_sizes:
        rows = session.execute(sa.select(AcceptanceResult.device_id, AcceptanceResult.measures)
                               .where(AcceptanceResult.device_id.in_(missing_sizes),
                                      AcceptanceResult.verdict == PASS)
                               .order_by(AcceptanceResult.id)).all()
        for dev, meas in rows:      # the newest passing result wins
            sizes[dev] = ((meas or {}).get("width"), (meas or {}).get("height"))
    devs = []
    for c in cams:
        online = reached[c.id] if c.id in reached else states.get(c.id) in ("ok", "degraded",
                                                                            "maintenance")
        w, h = sizes.get(c.id, (None, None))
        devs.append(cov.SlotDevice(c.serial, c.role, c.lifecycle == Lifecycle.ACCEPTED,
                                   bool(online), w, h))
    return cov.compute(profile.required_slots(community.type), devs)


def record_coverage(session: Session, community: Community, at: dt.datetime,
                    profile: Any = None) -> CoverageSnapshot:
    """Store the community's coverage now (online by stored device state): the daily figure
    the reports read between acceptances. The caller commits."""
    profile = profile if profile is not None else community_profile(session, community)
    cov_now = community_coverage(session, community, profile)
    snap = CoverageSnapshot(community_id=community.id, at=at, required=cov_now["required"],
                            filled=cov_now["filled"], figure=cov_now["figure"],
                            slots=cov_now["slots"])
    session.add(snap)
    return snap
