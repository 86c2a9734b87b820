"""Run a batch of devices on one event loop; results stream out as they finish.

Bounds: a global limit (devices in flight — this also bounds memory: targets are
pulled from the iterable only as slots free up, so a 10,000-device fleet costs what
``global_limit`` devices cost), one connection per host at a time, a limit per
protocol, a timeout on every check (applied here, blackbox-exporter style, so no
prober repeats it) and a deadline for the whole batch after which every unfinished
device still yields a result — nothing is dropped.

Our own overload is never a device's failure: the context's ``LoopMonitor`` measures the
event loop's lag; a check that failed on a timeout while the loop lagged beyond its
bound is tried again once the loop is calm, and if the loop stays overloaded it is
recorded in ``ProbeResult.not_measured`` (kind ``not_measured``), never as the device's
error. The number of devices in flight adapts to keep the lag under the bound
(``AdaptiveLimit``). A device the batch deadline cut short or never reached is
``not_measured`` too: the deadline is ours.
"""
from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable, Mapping, Optional, Union

from probes.config import Limits, TierSpec, resolve_tier
from probes.context import ProbeContext
from probes.errors import classify
from probes.load import AdaptiveLimit
from probes.model import (FrameResult, OnvifResult, ProbeError, ProbeResult, PtzResult,
                          ReachResult, SnmpResult, DeviceTarget, TRANSIENT_KINDS)

Part = Union[ReachResult, OnvifResult, SnmpResult, FrameResult, PtzResult]
Check = Callable[[DeviceTarget, TierSpec, ProbeContext, ProbeResult], Awaitable[Part]]
_PART_TYPES = {"reach": ReachResult, "onvif": OnvifResult, "snmp": SnmpResult,
               "frame": FrameResult, "ptz": PtzResult}


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class BatchStats:
    """Filled in while a batch runs (pass one in to watch progress)."""

    total_started: int = 0
    finished: int = 0
    ok: int = 0
    deadline_hit: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    by_error_kind: collections.Counter = field(default_factory=collections.Counter)
    check_seconds: collections.Counter = field(default_factory=collections.Counter)
    # Our overload: checks not measured (by check), checks tried again because the loop
    # lagged, the loop's lag (LoopMonitor.summary()) and the lowest in-flight limit.
    not_measured: collections.Counter = field(default_factory=collections.Counter)
    overload_retries: int = 0
    lag: dict = field(default_factory=dict)
    limit_lowest: Optional[int] = None
    started_mono: float = field(default_factory=time.monotonic)
    finished_mono: Optional[float] = None

    @property
    def elapsed_s(self) -> float:
        return (self.finished_mono or time.monotonic()) - self.started_mono

    @property
    def devices_per_s(self) -> float:
        return self.finished / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def record(self, result: ProbeResult) -> None:
        self.finished += 1
        self.ok += int(result.ok)
        for kind in result.error_kinds():
            self.by_error_kind[kind] += 1
        for err in result.not_measured:
            self.not_measured[err.check or "device"] += 1


# ---------------------------------------------------------------- checks

async def _check_reach(target: DeviceTarget, spec: TierSpec, ctx: ProbeContext,
                       so_far: ProbeResult) -> ReachResult:
    from probes.reach import probe_reach
    ports = target.tcp_ports()
    if not ports and target.snmp_port:
        # A switch may expose only SNMP (UDP): "reachable" = answers a sysUpTime GET.
        return await ctx.snmp().reach(target, spec.timeout("reach"))
    return await probe_reach(target.host, ports, spec.timeout("reach"),
                             icmp=bool(getattr(spec, "icmp", False)))


async def _check_onvif(target: DeviceTarget, spec: TierSpec, ctx: ProbeContext,
                       so_far: ProbeResult) -> Optional[OnvifResult]:
    if not target.onvif_port:
        return None
    from probes.onvif import probe_onvif
    return await probe_onvif(ctx.onvif(), target, spec, spec.timeout("onvif"))


async def _check_snmp(target: DeviceTarget, spec: TierSpec, ctx: ProbeContext,
                      so_far: ProbeResult) -> Optional[SnmpResult]:
    if not target.snmp_port:
        return None
    return await ctx.snmp().probe(target, spec.timeout("snmp"))


async def _check_frame(target: DeviceTarget, spec: TierSpec, ctx: ProbeContext,
                       so_far: ProbeResult) -> Optional[FrameResult]:
    if target.kind not in ("camera",):
        return None
    from probes.frame import grab_frame
    onvif = so_far.onvif
    snapshot = target.snapshot_uri or (onvif.snapshot_uri if onvif else None)
    stream = target.stream_uri or (onvif.stream_uri if onvif else None)
    if not snapshot and not stream and onvif is None and target.onvif_port:
        # A frame-only tier normally reuses the URIs of the last full probe; before the first
        # one (a fresh install, a new camera) ask the camera itself instead of giving up.
        from probes.onvif import probe_onvif
        learned = await probe_onvif(ctx.onvif(), target, spec, spec.timeout("onvif"))
        if not learned.ok:
            return FrameResult(ok=False, error=learned.error)
        snapshot, stream = learned.snapshot_uri, learned.stream_uri
    if not snapshot and not stream:
        if onvif is not None and not onvif.ok:
            return None      # ONVIF already failed and says why; no URI to try
        return FrameResult(ok=False, error=ProbeError(
            "unsupported", "no snapshot or stream URI known", "frame"))
    return await grab_frame(ctx.http(), target, snapshot, stream, spec.timeout("frame"),
                            rtsp_fallback=spec.rtsp_fallback, decode=spec.decode_frame)


async def _check_ptz(target: DeviceTarget, spec: TierSpec, ctx: ProbeContext,
                     so_far: ProbeResult) -> Optional[PtzResult]:
    """Optional: only when the tier lists "ptz", only for cameras whose ONVIF probe
    (earlier in the same tier) found a PTZ service."""
    onvif = so_far.onvif
    if target.kind != "camera" or onvif is None or not onvif.ok:
        return None
    if "ptz" not in onvif.service_addresses:
        return PtzResult(ok=False, error=ProbeError("unsupported", "no PTZ service", "ptz"))
    from probes.frame import pin_host
    from probes.onvif import auth_time_offset
    from probes.ptz import check_ptz
    snap = target.snapshot_uri or onvif.snapshot_uri
    token = onvif.profiles[0].token if onvif.profiles else None
    return await check_ptz(ctx.onvif(), ctx.http(), target, onvif.service_addresses["ptz"],
                           token, pin_host(snap, target.host, 80) if snap else None,
                           frame_timeout=max(1.0, spec.timeout("frame")),
                           dt_diff=auth_time_offset(onvif.clock_offset_s))


CHECK_FUNCS: dict[str, Check] = {"reach": _check_reach, "onvif": _check_onvif,
                                  "snmp": _check_snmp, "frame": _check_frame,
                                  "ptz": _check_ptz}


# ---------------------------------------------------------------- one device

class _Gates:
    """Per-protocol semaphores and per-host semaphores (dropped when idle)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.protocol = {c: asyncio.Semaphore(limits.for_protocol(c)) for c in CHECK_FUNCS}
        self._hosts: dict[str, list[Any]] = {}     # host -> [semaphore, users]

    async def host(self, host: str) -> "_HostSlot":
        entry = self._hosts.get(host)
        if entry is None:
            entry = self._hosts[host] = [asyncio.Semaphore(max(1, self.limits.per_host)), 0]
        entry[1] += 1
        return _HostSlot(self, host, entry)


class _HostSlot:
    def __init__(self, gates: _Gates, host: str, entry: list[Any]) -> None:
        self.gates, self.host, self.entry = gates, host, entry

    async def __aenter__(self) -> None:
        await self.entry[0].acquire()

    async def __aexit__(self, *exc: Any) -> None:
        self.entry[0].release()
        self.entry[1] -= 1
        if self.entry[1] == 0:
            self.gates._hosts.pop(self.host, None)


# Checks that time the device themselves (send to kernel receipt, probes.snmp): the
# runner's wall-clock timeout on them is only a guard against a hung probe, this many
# times the tier's timeout, since wall time also holds our own CPU queue.
DEVICE_TIMED = frozenset({"snmp"})
GUARD_FACTOR = 4.0
OVERLOAD_RETRIES = 3       # tries of a check the platform's overload spoilt, before giving up
_OVERLOAD_SUSPECT = frozenset({"timeout", "reset"})


class NotMeasured(Exception):
    """The platform could not measure this check (its own overload)."""


async def _run_check(name: str, target: DeviceTarget, spec: TierSpec, ctx: ProbeContext,
                     gates: _Gates, so_far: ProbeResult,
                     stats: Optional[BatchStats]) -> Optional[Part]:
    func = CHECK_FUNCS[name]
    part_type = _PART_TYPES[name]
    attempts = 1 + spec.retry(name)
    monitor = ctx.monitor()
    part: Optional[Part] = None
    t0 = time.monotonic()
    attempt = spoilt = 0
    worst_lag = 0.0
    guard = spec.timeout(name) * (GUARD_FACTOR if name in DEVICE_TIMED else 1.0)
    while attempt < attempts:
        attempt += 1
        async with gates.protocol[name]:
            started = time.monotonic()
            try:
                async with asyncio.timeout(guard):
                    part = await func(target, spec, ctx, so_far)
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                part = part_type(ok=False, error=ProbeError(
                    "timeout", f"{name} exceeded {guard:g}s", name))
            except Exception as exc:  # noqa: BLE001 - a probe never crashes the sweep
                part = part_type(ok=False, error=classify(exc, name))
        if part is None or part.ok or part.error is None:
            break
        if part.error.kind in _OVERLOAD_SUSPECT:
            lag = monitor.max_lag_between(started)
            if lag > monitor.bound:
                # The loop was too busy to hear the device: not its failure. Try again
                # when calm (this try does not count), or give up as not measured.
                worst_lag = max(worst_lag, lag)
                spoilt += 1
                if stats is not None:
                    stats.overload_retries += 1
                if spoilt > OVERLOAD_RETRIES:
                    if stats is not None:
                        stats.check_seconds[name] += time.monotonic() - t0
                    raise NotMeasured(
                        f"{name}: platform overloaded (event-loop lag up to {worst_lag:.2f} s, "
                        f"bound {monitor.bound:g} s) in {spoilt} tries; not the device's failure")
                attempt -= 1
                await monitor.calm()
                continue
        if part.error.kind not in TRANSIENT_KINDS:
            break
    if stats is not None:
        stats.check_seconds[name] += time.monotonic() - t0
    if part is not None and part.error is not None and part.error.check is None:
        part.error.check = name
    return part


async def probe_device(target: DeviceTarget, spec: TierSpec, ctx: ProbeContext,
                       gates: Optional[_Gates] = None,
                       stats: Optional[BatchStats] = None,
                       result: Optional[ProbeResult] = None) -> ProbeResult:
    """Run the tier's checks on one device, in order, one connection at a time.

    Parts are stored on ``result`` as they finish, so a caller that cancels the probe
    (batch deadline) still holds what was learnt before.
    """
    gates = gates or _Gates(ctx.limits)
    if result is None:
        result = ProbeResult(serial=target.serial, tier=spec.name, started_at=_now(),
                             finished_at=_now())
    try:
        async with await gates.host(target.host):
            for name in spec.checks:
                try:
                    part = await _run_check(name, target, spec, ctx, gates, result, stats)
                except NotMeasured as exc:
                    result.not_measured.append(ProbeError("not_measured", str(exc), name))
                    if name == "reach":
                        break       # nothing else would fare better now
                    continue
                setattr(result, name, part)
                if name == "reach" and part is not None and not part.ok \
                        and part.error is not None and part.error.kind in TRANSIENT_KINDS:
                    # Nothing else will answer either; don't spend every timeout on it.
                    break
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001
        result.error = classify(exc)
    if result.not_measured and not result.parts() and result.error is None:
        # Nothing measured at all: say so at the top, so nobody reads it as "all fine".
        result.error = ProbeError("not_measured", result.not_measured[0].message)
    result.finished_at = _now()
    return result


def _deadline_result(target: DeviceTarget, spec: TierSpec, started: Optional[datetime],
                     deadline_s: float, partial: Optional[ProbeResult] = None) -> ProbeResult:
    now = _now()
    res = partial or ProbeResult(serial=target.serial, tier=spec.name,
                                 started_at=started or now, finished_at=now)
    res.finished_at = now
    res.error = ProbeError("not_measured", f"batch deadline of {deadline_s:g}s passed "
                           + ("while probing" if started else "before the probe started"))
    return res


# ---------------------------------------------------------------- the batch

async def run_batch(targets: Iterable[DeviceTarget],
                    tier: Union[str, TierSpec, Mapping[str, Any]] = "fast", *,
                    limits: Optional[Limits] = None,
                    deadline_s: Optional[float] = None,
                    stats: Optional[BatchStats] = None,
                    context: Optional[ProbeContext] = None) -> AsyncIterator[ProbeResult]:
    """Probe every target; yield each ``ProbeResult`` as soon as it is complete.

    Every target yields exactly one result, in completion order. ``tier`` is "fast",
    "full", a ``TierSpec`` or a profile mapping (see ``TierSpec.from_mapping``).
    """
    spec = resolve_tier(tier)
    limits = limits or (context.limits if context else Limits())
    ctx = context or ProbeContext(limits)
    gates = _Gates(limits)
    stats = stats if stats is not None else BatchStats()
    loop = asyncio.get_running_loop()
    monitor = ctx.monitor()
    monitor.start()
    admit = AdaptiveLimit(monitor, max(1, limits.global_limit),
                          floor=min(limits.global_limit, limits.adaptive_floor)) \
        if limits.adaptive else None
    deadline = loop.time() + deadline_s if deadline_s else None
    source = iter(targets)
    pending: dict[asyncio.Task, tuple[DeviceTarget, datetime, ProbeResult]] = {}
    exhausted = False
    try:
        while True:
            cap = admit.current() if admit is not None else max(1, limits.global_limit)
            while not exhausted and len(pending) < cap \
                    and (deadline is None or loop.time() < deadline):
                try:
                    target = next(source)
                except StopIteration:
                    exhausted = True
                    break
                started = _now()
                partial = ProbeResult(target.serial, spec.name, started, started)
                task = asyncio.create_task(probe_device(target, spec, ctx, gates, stats,
                                                        partial))
                pending[task] = (target, started, partial)
                stats.total_started += 1
            stats.in_flight = len(pending)
            stats.peak_in_flight = max(stats.peak_in_flight, len(pending))
            if not pending:
                break
            wait_for = None if deadline is None else max(0.0, deadline - loop.time())
            if admit is not None and len(pending) < cap and not exhausted:
                # Admission was held back: look again soon even if nothing finishes.
                wait_for = min(wait_for, admit.step_s) if wait_for is not None else admit.step_s
            done, _ = await asyncio.wait(pending, timeout=wait_for,
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                target, started, _partial = pending.pop(task)
                if task.exception() is not None:
                    now = _now()
                    res = ProbeResult(target.serial, spec.name, started, now,
                                      error=classify(task.exception()))
                else:
                    res = task.result()
                stats.record(res)
                yield res
            if deadline is not None and loop.time() >= deadline:
                break
        if deadline is not None and (pending or not exhausted):
            # Deadline: cancel what is running, account for what never started.
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for task, (target, started, partial) in list(pending.items()):
                # Keep the checks that finished before the deadline (e.g. reach).
                res = _deadline_result(target, spec, started, deadline_s or 0, partial)
                stats.deadline_hit += 1
                stats.record(res)
                yield res
            pending.clear()
            for target in source:
                res = _deadline_result(target, spec, None, deadline_s or 0)
                stats.deadline_hit += 1
                stats.record(res)
                yield res
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        stats.in_flight = 0
        stats.finished_mono = time.monotonic()
        stats.lag = monitor.summary()
        if admit is not None:
            stats.limit_lowest = admit.lowest
        await monitor.stop()
        if context is None:
            await ctx.aclose()


async def probe_one(target: DeviceTarget, tier: Union[str, TierSpec, Mapping[str, Any]] = "full",
                    **kwargs: Any) -> ProbeResult:
    """Convenience: a batch of one."""
    async for res in run_batch([target], tier, **kwargs):
        return res
    raise RuntimeError("run_batch yielded nothing")  # pragma: no cover
