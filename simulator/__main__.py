"""`python -m simulator --devices N --seed S --inventory fleet.csv ...`: start a fleet on
loopback, write its inventory once every device answers, serve until interrupted."""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import resource
import signal
import sys
import time

from aiohttp import web

from .control import make_app
from .faults import TruthLog
from .fleet import generate
from .inventory import write_atomic
from .latency import Latency
from .runtime import Fleet


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    p.add_argument("--devices", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--inventory", required=True, help="CSV written when the fleet is ready")
    p.add_argument("--communities", type=int, default=None)
    p.add_argument("--base-address", default="127.10.0.1")
    p.add_argument("--onvif-port", type=int, default=8080)
    p.add_argument("--snmp-port", type=int, default=1161)
    p.add_argument("--control-port", type=int, default=8899)
    p.add_argument("--truth", default=None, help="JSON lines of fault intervals")
    p.add_argument("--scenario", default=None, help="YAML file scripting faults over time")
    p.add_argument("--latency", default=None,
                   help="e.g. onvif=lognormal:80ms,snapshot=lognormal:250ms,snmp=5ms (off by default)")
    p.add_argument("--snmp-bind", choices=("auto", "per-address", "wildcard"), default="auto",
                   help="one UDP socket per address, or one on 0.0.0.0 bound to lo (auto: >2000 devices)")
    p.add_argument("--wsse-window", type=float, default=60.0, metavar="S",
                   help="seconds a WS-Security Created time may differ from the device "
                        "clock (0: not checked)")
    p.add_argument("--snmp-v3-keys", choices=("contract", "device"), default="contract",
                   help="SNMPv3 passphrases shared per contract, or per device (each "
                        "device's master keys are then derived on its first v3 request)")
    p.add_argument("--snmp-agent", choices=("fast", "pysnmp"), default="fast",
                   help="fast: v1/v2c reads through simulator/snmp_fast.py, the rest pysnmp; "
                        "pysnmp: every datagram through pysnmp's engine")
    p.add_argument("--rtsp", type=int, default=0, metavar="N",
                   help="serve RTSP (gst-rtsp-server helper) for the first N cameras")
    p.add_argument("--rtsp-port", type=int, default=8554)
    p.add_argument("--wsdiscovery-port", type=int, default=0, metavar="PORT",
                   help="answer WS-Discovery probes on this UDP port of every camera/NVR "
                        "address (3702 as real devices; 0: off)")
    p.add_argument("--shard", default=None, metavar="K/N",
                   help="serve only the communities with index %% N == K of the fleet "
                        "--devices/--seed describe (same serials, addresses and topology); "
                        "N processes together serve a fleet larger than one process's "
                        "descriptor limit allows. The inventory lists this shard's devices.")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    a.shard_k, a.shard_n = 0, 1
    if a.shard:
        try:
            k, n = (int(x) for x in a.shard.split("/"))
        except ValueError:
            p.error("--shard must be K/N, e.g. 0/2")
        if not (n >= 1 and 0 <= k < n):
            p.error("--shard K/N needs 0 <= K < N")
        a.shard_k, a.shard_n = k, n
    if a.devices < 1:
        p.error("--devices must be at least 1")
    if not 0 <= a.rtsp <= 64:
        p.error("--rtsp must be between 0 and 64 (one helper process serves them all)")
    if not 0 <= a.wsse_window < float("inf"):
        p.error("--wsse-window must be a number of seconds >= 0")
    try:
        if ipaddress.IPv4Address(a.base_address) not in ipaddress.IPv4Network("127.0.0.0/8"):
            p.error("--base-address must be a loopback address (127.0.0.0/8)")
    except ValueError:
        p.error("--base-address is not an IPv4 address")
    try:
        Latency(a.latency)
    except (ValueError, IndexError) as exc:
        p.error(f"--latency: {exc}")
    return a


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _self_check(fleet: Fleet, concurrency: int = 64) -> int:
    """Every device must answer an HTTP request before the inventory is written."""
    sem = asyncio.Semaphore(concurrency)
    failures = 0

    async def one(ip: str, port: int) -> None:
        nonlocal failures
        async with sem:
            for _attempt in range(3):
                try:
                    r, w = await asyncio.wait_for(asyncio.open_connection(ip, port), 5)
                    w.write(b"GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    line = await asyncio.wait_for(r.readline(), 5)
                    w.close()
                    if line.startswith(b"HTTP/1.1 "):
                        return
                except (OSError, asyncio.TimeoutError):
                    await asyncio.sleep(0.05)
            failures += 1

    await asyncio.gather(*(one(s.ip, s.onvif_port) for s in fleet.specs))
    return failures


async def run(a: argparse.Namespace) -> int:
    t0 = time.monotonic()
    _raise_fd_limit()
    specs = generate(a.devices, a.seed, a.communities, a.base_address, a.onvif_port, a.snmp_port,
                     v3_keys=a.snmp_v3_keys)
    if a.shard_n > 1:
        # Whole communities per shard: a switch, its cameras and their NVR stay together.
        specs = [s for s in specs if s.community_index % a.shard_n == a.shard_k]
    scenario = None
    if a.scenario:
        from .scenario import ScenarioError, build_timeline, load_scenario
        try:
            scenario = load_scenario(a.scenario)
            build_timeline(scenario, specs, a.seed)     # validate before binding anything
        except (OSError, ScenarioError, KeyError, TypeError, ValueError) as exc:
            print(f"error: scenario {a.scenario}: {exc}", file=sys.stderr)
            return 2
    wildcard = {"auto": None, "per-address": False, "wildcard": True}[a.snmp_bind]
    fleet = Fleet(specs, Latency(a.latency, a.seed), TruthLog(a.truth), a.seed, wildcard,
                  wsse_window_s=a.wsse_window)
    fleet.agent.fast_path = a.snmp_agent == "fast"
    await fleet.start(progress=not a.quiet)
    streams = None
    if a.rtsp:
        from .rtsp import RtspStreams
        cams = [st for st in fleet.states.values() if st.spec.kind == "camera"][:a.rtsp]
        streams = RtspStreams(cams, a.rtsp_port, fleet.pool)
        try:
            await streams.start()
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            await fleet.stop()
            return 1
        for st in cams:
            st.rtsp_port = a.rtsp_port
    discovery = None
    if a.wsdiscovery_port:
        from .wsdiscovery import DiscoveryResponders
        discovery = DiscoveryResponders(fleet.states, a.wsdiscovery_port)
        await discovery.start()
    runner = web.AppRunner(make_app(fleet), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", a.control_port).start()
    bad = await _self_check(fleet)
    if bad:
        print(f"error: {bad} devices did not answer; inventory not written", file=sys.stderr)
        if discovery is not None:
            discovery.stop()
        if streams is not None:
            streams.stop()
        await fleet.stop()
        return 1
    write_atomic(a.inventory, specs)
    if not a.quiet:
        print(f"ready: {len(specs)} devices in {time.monotonic() - t0:.1f}s; inventory {a.inventory}; "
              f"control http://127.0.0.1:{a.control_port}/devices", file=sys.stderr, flush=True)
    scenario_task = None
    if scenario is not None:
        from .scenario import run_scenario
        scenario_task = asyncio.get_running_loop().create_task(run_scenario(fleet, scenario, a.seed))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    if scenario_task:
        scenario_task.cancel()
    await runner.cleanup()
    if discovery is not None:
        discovery.stop()
    if streams is not None:
        streams.stop()
    await fleet.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    a = parse_args(argv)
    try:
        return asyncio.run(run(a))
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
