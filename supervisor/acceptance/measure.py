"""Device I/O of an acceptance run, built only from `probes/` (no database here).

For each device: the sweep's own probe (reach, ONVIF incl. NVR recordings, SNMP, frame,
PTZ) through ``probes.runner.probe_device``; then, when ONVIF answered, the MAC
(``probes.identity.read_mac``) and every default login of the list
(``probes.identity.try_login``); the frame is diagnosed by ``probes.quality`` in its
process pool. Devices run concurrently (bounded), one connection per host at a time.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from probes.config import Limits, TierSpec
from probes.context import ProbeContext
from probes.identity import read_mac, try_login
from probes.model import DeviceTarget
from probes.onvif import auth_time_offset
from probes.runner import _Gates, probe_device

from supervisor.acceptance.checks import Measured
from supervisor.acceptance.credentials import DefaultLogin

ACCEPTANCE_CHECKS = ["reach", "onvif", "snmp", "frame", "ptz"]
CONFIRM_FRAMES = 2


@dataclass
class Job:
    target: DeviceTarget
    logins: Sequence[DefaultLogin] = ()


def acceptance_tier(timeouts: Optional[dict[str, float]] = None) -> TierSpec:
    """The sweep's checks plus PTZ; RTSP fallback on (a camera without snapshots)."""
    t = {"reach": 2.0, "onvif": 8.0, "snmp": 3.0, "frame": 10.0, "ptz": 20.0}
    t.update(timeouts or {})
    return TierSpec("acceptance", list(ACCEPTANCE_CHECKS), timeouts=t,
                    retries={"reach": 1, "onvif": 1, "snmp": 1, "frame": 1, "ptz": 0})


async def _one(job: Job, spec: TierSpec, ctx: ProbeContext, gates: _Gates, quality: Any,
               login_timeout: float) -> Measured:
    res = await probe_device(job.target, spec, ctx, gates)
    m = Measured(probe=res)
    on = res.onvif
    if on is not None and on.ok and job.target.onvif_port:
        dt_diff = auth_time_offset(on.clock_offset_s)
        async with await gates.host(job.target.host):
            m.mac, err = await read_mac(ctx.onvif(), job.target, login_timeout, dt_diff)
            m.mac_error = f"{err.kind}: {err.message}" if err else None
            for login in job.logins:
                m.logins_tried += 1
                ok, err = await try_login(ctx.onvif(), job.target, login.username,
                                          login.password, login_timeout, dt_diff)
                if ok:
                    m.logins_accepted.append(f"{login.username} ({login.source})")
                elif ok is None:
                    m.logins_unknown.append(f"{login.username}: {err.kind if err else '?'}")
    fr = res.frame
    if fr is not None and fr.ok and fr.jpeg and quality is not None:
        try:
            m.diagnosis = await quality.diagnose(fr.jpeg, captured_at=fr.grabbed_at)
        except Exception as exc:  # noqa: BLE001 - a corrupt frame is a finding
            m.diagnosis_error = f"{type(exc).__name__}: {exc}"[:200]
        if m.diagnosis and m.diagnosis.get("faults"):
            await _confirm_faults(job.target, res, m, ctx, gates, quality, spec)
    return m


async def _confirm_faults(target: DeviceTarget, res: Any, m: Measured, ctx: ProbeContext,
                          gates: _Gates, quality: Any, spec: TierSpec) -> None:
    """One frame near a threshold can cross it by sensor noise alone: before failing a
    device on its picture, grab CONFIRM_FRAMES more and keep the faults seen in a majority
    of the frames (the first frame's diagnosis stays the evidence)."""
    from probes.frame import grab_frame
    on = res.onvif
    snap = on.snapshot_uri if on is not None else None
    stream = on.stream_uri if on is not None else None
    seen = [{f["fault"] for f in m.diagnosis.get("faults") or []}]
    async with await gates.host(target.host):
        for _ in range(CONFIRM_FRAMES):
            try:
                again = await grab_frame(ctx.http(), target, snap, stream, spec.timeout("frame"),
                                         rtsp_fallback=spec.rtsp_fallback)
                if not again.ok or not again.jpeg:
                    continue
                d = await quality.diagnose(again.jpeg, captured_at=again.grabbed_at)
            except Exception:  # noqa: BLE001 - an extra frame that fails confirms nothing
                continue
            seen.append({f["fault"] for f in d.get("faults") or []})
    n = len(seen)
    kept = {f for f in seen[0] if sum(f in s for s in seen) * 2 > n}
    m.frames_judged = n
    m.fault_frames = {f: sum(f in s for s in seen) for f in seen[0]}
    m.confirmed_faults = sorted(kept)


async def measure(jobs: Sequence[Job], *, quality: Any, concurrency: int = 32,
                  spec: Optional[TierSpec] = None, login_timeout: float = 5.0,
                  on_done: Optional[Callable[[str, Measured], None]] = None
                  ) -> dict[str, Measured]:
    """Measure every job; ``on_done(serial, measured)`` as each finishes."""
    spec = spec or acceptance_tier()
    limits = Limits(global_limit=concurrency, per_host=1)
    out: dict[str, Measured] = {}
    sem = asyncio.Semaphore(max(1, concurrency))
    async with ProbeContext(limits) as ctx:
        gates = _Gates(limits)

        async def run(job: Job) -> None:
            async with sem:
                m = await _one(job, spec, ctx, gates, quality, login_timeout)
            out[job.target.serial] = m
            if on_done is not None:
                on_done(job.target.serial, m)

        await asyncio.gather(*(run(j) for j in jobs))
    return out
