"""The local executor's probing processes: one per core, an event loop each, one writer.

One event loop is one core: ONVIF parsing, SNMPv3 crypto and JPEG handling are Python
CPU work, so a sweep on one loop leaves the other cores idle and, past a point, lags the
loop so far that its own timeouts fire. ``ProcessProbes`` deals the targets out
round-robin to N processes (spawned, not forked: the caller has threads), each running
``probes.runner.run_batch`` with its share of the concurrency limits, and hands every
result back over one bounded queue to the calling thread, which alone writes. A host is
in one process only, so the one-connection-per-host rule holds across them.

Every target yields exactly one result: a process that dies leaves its unreported
targets as ``internal`` results naming the exit code; the batch deadline, as in
``run_batch``, is the platform's (``not_measured``).
"""
from __future__ import annotations

import math
import multiprocessing as mp
import os
import queue as queue_mod
from datetime import datetime, timezone
from typing import Any, Iterator, Optional

from probes.config import Limits, TierSpec
from probes.model import DeviceTarget, ProbeError, ProbeResult

_END = "__end__"


def default_processes(configured: Optional[int] = None) -> int:
    """One probing process per core unless the PROBE_PROCESSES setting names a number
    (1 = probe on one event loop in a thread of the calling process)."""
    if configured:
        return max(1, int(configured))
    return max(1, os.cpu_count() or 1)


def share_limits(limits: Limits, n: int) -> Limits:
    """Each of n processes gets 1/n of every concurrency limit (at least 1)."""
    def part(v: int) -> int:
        return max(1, math.ceil(int(v) / n))
    return Limits(global_limit=part(limits.global_limit), per_host=limits.per_host,
                  per_protocol={k: part(v) for k, v in limits.per_protocol.items()},
                  adaptive=limits.adaptive,
                  adaptive_floor=max(1, limits.adaptive_floor // n),
                  lag_bound_s=limits.lag_bound_s)


def _child(index: int, targets: list[dict[str, Any]], tier: dict[str, Any],
           limits: dict[str, Any], deadline_s: Optional[float], out: Any) -> None:
    """Runs in a probing process: probe, send each result as it comes, then the stats."""
    import asyncio

    from probes.runner import BatchStats, run_batch
    from supervisor.sweeps.executors import batch_load

    stats = BatchStats()

    async def go() -> None:
        spec = TierSpec.from_dict(tier)
        lim = Limits.from_dict(limits)
        async for res in run_batch([DeviceTarget.from_dict(t) for t in targets], spec,
                                   limits=lim, deadline_s=deadline_s, stats=stats):
            jpeg = res.frame.jpeg if res.frame is not None else None
            item = (index, res.to_dict(), jpeg)
            while True:         # the writer is behind: wait without blocking the loop
                try:
                    out.put_nowait(item)
                    break
                except queue_mod.Full:
                    await asyncio.sleep(0.01)
    try:
        asyncio.run(go())
    finally:
        out.put((index, _END, batch_load(stats)))


def merge_loads(loads: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure set for the sweep: worst lag of any process, counts summed."""
    lag: dict[str, Any] = {}
    for key in ("p50_s", "p99_s", "max_s", "bound_s"):
        vals = [(ld.get("lag") or {}).get(key) for ld in loads]
        vals = [v for v in vals if v is not None]
        if vals:
            lag[key] = max(vals)
    not_measured: dict[str, int] = {}
    for ld in loads:
        for k, v in (ld.get("not_measured") or {}).items():
            not_measured[k] = not_measured.get(k, 0) + int(v)
    lows = [ld.get("lowest_in_flight") for ld in loads if ld.get("lowest_in_flight")]
    return {"lag": lag, "overload_retries": sum(int(ld.get("overload_retries") or 0)
                                                for ld in loads),
            "not_measured": not_measured, "lowest_in_flight": min(lows) if lows else None,
            "processes": len(loads)}


class ProcessProbes:
    def __init__(self, processes: int, queue_size: int = 256) -> None:
        self.processes = max(1, processes)
        self.queue_size = queue_size
        self.load: Optional[dict[str, Any]] = None

    def iter_results(self, targets: list[DeviceTarget], tier: TierSpec, limits: Limits,
                     deadline_s: Optional[float]) -> Iterator[ProbeResult]:
        n = max(1, min(self.processes, len(targets)))
        shares = [targets[i::n] for i in range(n)]
        ctx = mp.get_context("spawn")
        out = ctx.Queue(maxsize=self.queue_size)
        lim = share_limits(limits, n).to_dict()
        procs = [ctx.Process(target=_child, name=f"probe-{i}", daemon=True,
                             args=(i, [t.to_dict() for t in share], tier.to_dict(), lim,
                                   deadline_s, out))
                 for i, share in enumerate(shares)]
        for p in procs:
            p.start()
        pending = {i: {t.serial: t for t in share} for i, share in enumerate(shares)}
        ended: set[int] = set()
        loads: list[dict[str, Any]] = []
        try:
            while len(ended) < n:
                try:
                    index, body, extra = out.get(timeout=1.0)
                except queue_mod.Empty:
                    for i, p in enumerate(procs):
                        if i not in ended and not p.is_alive() and out.empty():
                            # Died without its end message: account for what it held.
                            ended.add(i)
                            yield from self._lost(pending[i], tier.name, p.exitcode)
                    continue
                if body == _END:
                    ended.add(index)
                    loads.append(extra or {})
                    yield from self._lost(pending[index], tier.name, None)
                    continue
                res = ProbeResult.from_dict(body)
                if extra and res.frame is not None:
                    res.frame.jpeg = extra
                pending[index].pop(res.serial, None)
                yield res
        finally:
            self.load = merge_loads(loads) if loads else None
            for p in procs:
                if p.is_alive():
                    p.terminate()
            for p in procs:
                p.join(timeout=10)
            out.close()

    @staticmethod
    def _lost(left: dict[str, DeviceTarget], tier: str,
              exitcode: Optional[int]) -> Iterator[ProbeResult]:
        now = datetime.now(timezone.utc)
        for target in list(left.values()):
            msg = (f"probing process exited ({exitcode}) before this device was reported"
                   if exitcode is not None else "probing process ended without a result")
            yield ProbeResult(target.serial, tier, now, now, error=ProbeError("internal", msg))
        left.clear()
