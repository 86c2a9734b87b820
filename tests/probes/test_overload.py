"""Our own overload is never a device's failure.

The event loop is stopped outright (``time.sleep`` inside it: nothing runs, as when a
burst of CPU work holds it) while simulated devices answer at loopback speed. Their
answers wait in our sockets; the probes must count them as answers, and the runner
must not turn a check that timed out on us into the device's failure.
"""
from __future__ import annotations

import asyncio
import time

import pytest

from probes.config import Limits, TierSpec
from probes.context import ProbeContext
from probes.load import AdaptiveLimit, LoopMonitor
from probes.runner import BatchStats, run_batch
from probes.snmp import SYS_UPTIME, SnmpClient, SnmpError
from tests.probes.conftest import run, sim_target

# the event loop is stalled on purpose and answers are timed: alone, not beside other tests
pytestmark = pytest.mark.serial


def _snmp_targets(fleet, v3: bool):
    out = []
    for d in fleet.devices():
        if not d.get("snmp_port"):
            continue
        if bool(d.get("snmp_v3")) == v3:
            out.append(sim_target(d, v3=v3))
    return out


async def _until_the_fleet_answers_promptly(targets, within_s: float = 0.2,
                                            patience_s: float = 30.0) -> float:
    """Ask every session once, again and again, until a whole round is answered within
    ``within_s``: the simulator shares the machine with the rest of the run, and work an
    earlier test left it (frames still rendering for a client that gave up) can hold its
    answers back for longer than the timeout under test. What the tests below claim is
    about our side of the wire, so they start only once the other side answers at
    loopback speed. A client of its own, so the client under test starts cold (SNMPv3
    discovery still to do). Returns the seconds waited."""
    t0 = time.monotonic()
    client = SnmpClient()
    try:
        sessions = [await client._session(t, 1.0) for t in targets]
        return await _rounds(client, sessions, within_s, patience_s, t0)
    finally:
        client.close()


async def _rounds(client, sessions, within_s: float, patience_s: float, t0: float) -> float:
    while True:
        r0 = time.monotonic()
        got = await asyncio.gather(*(client.get(s, [SYS_UPTIME]) for s in sessions),
                                   return_exceptions=True)
        if all(isinstance(g, dict) for g in got) and time.monotonic() - r0 < within_s:
            return time.monotonic() - t0
        if time.monotonic() - t0 > patience_s:
            pytest.fail(f"the simulated fleet did not answer a round of GETs within "
                        f"{within_s} s for {patience_s} s: the simulator is busy, "
                        f"not the client under test")
        await asyncio.sleep(0.2)


async def _gets_through_a_blocked_loop(targets, per_target: int, block_s: float,
                                       timeout: float):
    await _until_the_fleet_answers_promptly(targets)
    client = SnmpClient()
    try:
        sessions = [await client._session(t, timeout) for t in targets]
        tasks = [asyncio.create_task(client.get(s, [SYS_UPTIME]))
                 for s in sessions for _ in range(per_target)]
        await asyncio.sleep(0)          # every request is on the wire...
        time.sleep(block_s)             # ...and the loop stops for longer than its timeout
        results = await asyncio.gather(*tasks, return_exceptions=True)
        return results, sessions, client.late_answers()
    finally:
        client.close()


def test_v2c_answers_queued_while_the_loop_was_blocked_are_answers(fleet):
    targets = _snmp_targets(fleet, v3=False)
    assert len(targets) >= 5
    results, sessions, late = run(_gets_through_a_blocked_loop(targets, 4, 1.5, 1.0), 60)
    failed = [r for r in results if isinstance(r, BaseException)]
    # ``late``: answers that reached us after their request's deadline (the device was
    # late) as opposed to answers we failed to read (our fault)
    assert failed == [], f"late answers: {late}"
    assert all(isinstance(r, dict) and r.get(SYS_UPTIME) for r in results)
    # The time charged to each device is its own answer time, not our 1.5 s stall.
    assert max(s.last_rtt_s for s in sessions) < 0.5


def test_an_answer_late_by_the_device_is_recorded_with_its_lateness(fleet, faulted):
    # The device takes 0.3 s against a 0.1 s timeout; our loop stalls 0.6 s meanwhile, so
    # the answer is queued when the request is judged: a timeout, the device's, with the
    # kernel's measure of how late it came (not the 0.6 s of our stall).
    dev = next(d for d in fleet.devices() if d.get("snmp_port") and not d.get("snmp_v3"))
    faulted(dev["serial"], ["slow"], slow_s=0.3)

    async def go():
        client = SnmpClient()
        try:
            session = await client._session(sim_target(dev), 0.1)
            task = asyncio.create_task(client.get(session, [SYS_UPTIME]))
            await asyncio.sleep(0)
            time.sleep(0.6)
            try:
                await task
            except SnmpError as exc:
                return exc
            return None
        finally:
            client.close()
    exc = run(go(), 10)
    assert exc is not None and exc.kind == "timeout"
    assert exc.late_s is not None and 0.25 <= exc.late_s < 0.5, exc.late_s
    assert f"came {exc.late_s:.2f} s after the request" in str(exc)


def test_v3_exchanges_stalled_mid_discovery_still_complete(fleet):
    targets = _snmp_targets(fleet, v3=True)
    assert len(targets) >= 3
    results, sessions, late = run(_gets_through_a_blocked_loop(targets, 1, 1.5, 1.0), 60)
    failed = [r for r in results if isinstance(r, BaseException)]
    assert failed == [], f"late answers: {late}"
    assert max(s.last_rtt_s for s in sessions) < 0.5


def test_a_silent_agent_still_times_out_on_device_time(fleet):
    # Nothing listens on this port: the drain finds no answer, so it is a timeout.
    dev = next(d for d in fleet.devices() if d.get("snmp_port") and not d.get("snmp_v3"))
    target = sim_target(dev)
    target.snmp_port = 9

    async def go():
        client = SnmpClient()
        try:
            session = await client._session(target, 0.3)
            t0 = time.monotonic()
            try:
                await client.get(session, [SYS_UPTIME])
            except Exception as exc:  # noqa: BLE001
                return exc, time.monotonic() - t0
            return None, time.monotonic() - t0
        finally:
            client.close()
    exc, took = run(go(), 10)
    assert exc is not None and getattr(exc, "kind", None) == "timeout"
    assert took < 2.0


def test_a_sweep_whose_loop_is_blocked_for_seconds_blames_no_device(fleet):
    targets = [sim_target(d, v3=True) for d in fleet.devices()]
    # Timeouts shorter than the stall, so every check in flight during it times out.
    spec = TierSpec("t", ["reach", "onvif", "snmp"],
                    timeouts={"reach": 2, "onvif": 3, "snmp": 1})
    stats = BatchStats()
    seen_in_flight = []
    limits = Limits(global_limit=30)
    ctx = ProbeContext(limits)

    async def go():
        async def blocker():
            # Stop the loop once several devices are being probed and the lag monitor runs:
            # a fast batch (30 devices at loopback speed) is over within a fraction of a
            # second, so waiting a fixed time could miss it.
            while stats.in_flight < 5 or ctx.monitor().samples < 1:
                await asyncio.sleep(0)
            seen_in_flight.append(stats.in_flight)
            time.sleep(4.0)         # mid-sweep: nothing on the loop runs for 4 s
        b = asyncio.create_task(blocker())
        async with ctx:     # a context the caller passes in is the caller's to close
            out = [r async for r in run_batch(targets, spec, limits=limits, context=ctx,
                                              stats=stats, deadline_s=120)]
        await b
        return out
    out = run(go(), 150)
    assert sorted(r.serial for r in out) == sorted(t.serial for t in targets)
    assert seen_in_flight and seen_in_flight[0] > 0       # the stall hit a sweep in flight
    assert stats.lag["max_s"] >= 3.5                       # and the monitor saw it
    assert [(r.serial, r.errors()) for r in out if r.errors()] == []
    assert stats.overload_retries > 0                      # checks spoilt by it were redone


def test_adaptive_limit_cuts_under_lag_and_grows_back():
    async def go():
        mon = LoopMonitor(interval=0.01, bound=0.1)
        mon.start()
        lim = AdaptiveLimit(mon, ceiling=100, floor=5, step_s=0.05)
        assert lim.current() == 100
        for _ in range(6):
            time.sleep(0.2)                 # the loop lags 0.2 s > 0.1 s bound
            await asyncio.sleep(0.06)
            lim.current()
        low = lim.current()
        for _ in range(40):
            await asyncio.sleep(0.06)
            lim.current()
        await mon.stop()
        return low, lim.current()
    low, later = run(go(), 20)
    assert 5 <= low < 50
    assert later > low
