"""The batch runner: streaming, one result per target, limits, deadline — over real sockets."""
from __future__ import annotations

import asyncio
import time

from probes.config import Limits, TierSpec
from probes.model import DeviceTarget, ProbeResult
from probes.runner import BatchStats, run_batch
from probe_helpers import run

PORT = 18910


class SlowHttp:
    """Loopback HTTP servers that answer after ``delay`` (None: never) with a 500.

    Counts concurrent connections per address, to check the per-host limit.
    """

    def __init__(self, hosts: list[str], delay: float | None) -> None:
        self.hosts, self.delay = hosts, delay
        self.active: dict[str, int] = {h: 0 for h in hosts}
        self.peak: dict[str, int] = {h: 0 for h in hosts}
        self.total = 0
        self.total_peak = 0
        self.servers: list[asyncio.base_events.Server] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = writer.get_extra_info("sockname")[0]
        self.active[host] += 1
        self.peak[host] = max(self.peak[host], self.active[host])
        self.total += 1
        self.total_peak = max(self.total_peak, self.total)
        try:
            await reader.readuntil(b"\r\n\r\n")
            if self.delay is None:
                await asyncio.sleep(3600)
            await asyncio.sleep(self.delay)
            writer.write(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self.active[host] -= 1
            self.total -= 1
            writer.close()

    async def __aenter__(self) -> "SlowHttp":
        for h in self.hosts:
            self.servers.append(await asyncio.start_server(self.handle, h, PORT))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for s in self.servers:
            s.close()
        for s in self.servers:
            try:
                async with asyncio.timeout(2):
                    await s.wait_closed()
            except TimeoutError:
                pass


def onvif_tier(timeout: float) -> TierSpec:
    return TierSpec("t", ["onvif"], timeouts={"onvif": timeout}, retries={"onvif": 0})


def test_fast_tier_streams_one_result_per_target_with_kinds():
    async def go():
        server = await asyncio.start_server(lambda r, w: w.close(), "127.20.0.1", PORT)
        targets = [DeviceTarget(f"D{i}", "127.20.0.1" if i % 2 else "127.20.0.2",
                                onvif_port=PORT) for i in range(40)]
        stats = BatchStats()
        async with server:
            out = [r async for r in run_batch(targets, "fast", stats=stats, deadline_s=10)]
        return out, stats
    out, stats = run(go(), 20)
    assert sorted(r.serial for r in out) == sorted(f"D{i}" for i in range(40))
    ok = {r.serial for r in out if r.reach.ok}
    assert ok == {f"D{i}" for i in range(40) if i % 2}
    assert {r.reach.error.kind for r in out if not r.reach.ok} == {"refused"}
    assert stats.finished == 40 and stats.ok == 20 and stats.by_error_kind["refused"] == 20


def test_per_host_limit_is_one_connection_while_hosts_run_in_parallel():
    hosts = [f"127.20.1.{i}" for i in range(1, 5)]

    async def go():
        async with SlowHttp(hosts, delay=0.15) as srv:
            targets = [DeviceTarget(f"H{h}-{k}", h, onvif_port=PORT) for h in hosts
                       for k in range(3)]
            out = [r async for r in run_batch(targets, onvif_tier(5),
                                              limits=Limits(global_limit=50), deadline_s=20)]
            return out, srv.peak, srv.total_peak
    out, peak, total_peak = run(go(), 30)
    assert len(out) == 12
    assert all(r.onvif is not None and not r.onvif.ok for r in out)
    assert max(peak.values()) == 1                   # never two at once on one camera
    assert total_peak > 1                            # while different cameras overlap


def test_results_stream_as_they_finish():
    async def go():
        async with SlowHttp(["127.20.2.1"], delay=1.0):
            fast_srv = await asyncio.start_server(lambda r, w: w.close(), "127.20.2.2", PORT)
            async with fast_srv:
                targets = [DeviceTarget("SLOW", "127.20.2.1", onvif_port=PORT),
                           DeviceTarget("FAST", "127.20.2.2", onvif_port=PORT)]
                order = []
                async for r in run_batch(targets, onvif_tier(5), deadline_s=10):
                    order.append((r.serial, time.monotonic()))
                return order
    order = run(go(), 20)
    assert [s for s, _ in order] == ["FAST", "SLOW"]
    assert order[1][1] - order[0][1] > 0.5


def test_batch_deadline_yields_a_timeout_for_every_unfinished_target():
    async def go():
        async with SlowHttp(["127.20.3.1", "127.20.3.2"], delay=None):
            targets = [DeviceTarget(f"S{i}", f"127.20.3.{1 + i % 2}", onvif_port=PORT)
                       for i in range(6)]
            spec = TierSpec("t", ["reach", "onvif"], timeouts={"reach": 5, "onvif": 60})
            t0 = time.monotonic()
            out: list[ProbeResult] = [r async for r in run_batch(
                targets, spec, limits=Limits(global_limit=2), deadline_s=1.0)]
            return out, time.monotonic() - t0
    out, elapsed = run(go(), 15)
    assert sorted(r.serial for r in out) == [f"S{i}" for i in range(6)]
    assert all(r.error is not None and r.error.kind == "timeout" for r in out)
    assert "deadline" in out[0].error.message
    started = [r for r in out if r.reach is not None]
    assert len(started) == 2                       # two were in flight when time ran out
    assert all(r.reach.ok and r.onvif is None for r in started)   # reach result kept
    assert elapsed < 6.0          # the deadline, not the 60 s check timeout


def test_a_check_outliving_its_timeout_becomes_a_timeout_error():
    async def go():
        async with SlowHttp(["127.20.4.1"], delay=None):
            return [r async for r in run_batch(
                [DeviceTarget("T", "127.20.4.1", onvif_port=PORT)], onvif_tier(0.5),
                deadline_s=10)]
    t0 = time.monotonic()
    (res,) = run(go(), 10)
    assert time.monotonic() - t0 < 5          # bounded by the check timeout
    assert res.error is None
    assert res.onvif.error.kind == "timeout" and res.onvif.error.check == "onvif"
    assert res.error_kinds() == {"timeout"}


def test_per_protocol_limit_bounds_concurrency_across_hosts():
    hosts = [f"127.20.6.{i}" for i in range(1, 5)]

    async def go():
        async with SlowHttp(hosts, delay=0.1) as srv:
            targets = [DeviceTarget(f"P{h}", h, onvif_port=PORT) for h in hosts]
            out = [r async for r in run_batch(
                targets, onvif_tier(5), deadline_s=10,
                limits=Limits(global_limit=10, per_protocol={"onvif": 1}))]
            return out, srv.total_peak
    out, peak = run(go(), 20)
    assert len(out) == 4 and peak == 1


def test_icmp_echo_is_used_where_permitted_and_skipped_cleanly_otherwise():
    from probes.reach import icmp_allowed, icmp_echo
    answered, rtt = run(icmp_echo("127.20.7.1", 1.0), 3)
    if icmp_allowed():
        assert answered is True and rtt is not None and rtt >= 0
    else:
        assert (answered, rtt) == (None, None)
