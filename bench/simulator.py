"""bench.simulator: how big a fleet one process serves, and how fast.

Starts `python -m simulator --devices N` (default 10,000) as a subprocess and reports
- start-up time: from spawn until the inventory file appears (every device answered);
- memory: the simulator process's RSS after start-up and after the load;
- ONVIF requests/s: authenticated GetDeviceInformation (WS-Security PasswordDigest, a
  fresh token per request) spread over all cameras, from one aiohttp client process with
  bounded concurrency;
- snapshots/s (Digest auth, a JPEG rendered per capture) over the cameras;
and, as the peer measured in the same run with the same client, a plain aiohttp
hello-world server on one loopback address answering the same POST with a fixed body.
The ratio simulator/peer for one address each (keep-alive both) says how much of a bare
server's rate the full device logic keeps; the spread figure adds the cost of reaching
10,000 different addresses (the client mostly opens a new connection per request). Latency distributions are off, so this is the simulator's own ceiling.

SNMP (`--snmp-devices N`, default 1,000; 0 skips it; `--snmp-only` skips the rest): two
fleets of N devices started one after the other, the simulator's fast SNMP path
(simulator/snmp_fast.py, the default) and, as the peer in the same run, the pysnmp agent
alone (`--snmp-agent pysnmp`); the same raw UDP client asks every SNMPv2c device a GET of
four system objects and a GETBULK of seven ifTable columns (10 repetitions), with a bounded
number in flight, and prints answers/s and the simulator's CPU per device from /proc.

    .venv/bin/python -m bench.simulator [--devices 10000] [--seconds 8] [--concurrency 100]
        [--snmp-devices 1000] [--snmp-only]
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import datetime as dt
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
BASE, CONTROL, ONVIF, SNMP = "127.10.160.1", 18897, 18280, 18281
PEER_ADDR, PEER_PORT = "127.10.250.1", 18282

PEER_CODE = r"""
import sys
from aiohttp import web
async def h(request):
    await request.read()
    return web.Response(text="<ok/>", content_type="application/soap+xml")
app = web.Application()
app.router.add_post("/onvif/device_service", h)
web.run_app(app, host=sys.argv[1], port=int(sys.argv[2]), access_log=None, print=None)
"""


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _envelope(user: str, password: str) -> bytes:
    nonce = os.urandom(16)
    created = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()
    return (
        '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
        '<s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">'
        f'<UsernameToken><Username>{user}</Username>'
        '<Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-username-token-profile-1.0#PasswordDigest">'
        f'{digest}</Password><Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-soap-message-security-1.0#Base64Binary">'
        f'{base64.b64encode(nonce).decode()}</Nonce>'
        f'<Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">{created}</Created>'
        '</UsernameToken></Security></s:Header><s:Body>'
        '<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>'
    ).encode()


async def _load(targets: list[tuple[str, str, str]], seconds: float, concurrency: int,
                snapshot: bool = False) -> tuple[int, int, float]:
    """Requests spread round-robin over targets for `seconds`; returns (ok, errors, elapsed)."""
    ok = err = 0
    stop = time.monotonic() + seconds
    conn = aiohttp.TCPConnector(limit=concurrency, limit_per_host=2 if len(targets) > 1 else 0)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
        async def worker(i: int) -> None:
            nonlocal ok, err
            j = i
            while time.monotonic() < stop:
                url, user, pw = targets[j % len(targets)]
                j += concurrency
                try:
                    if snapshot:
                        mw = (aiohttp.DigestAuthMiddleware(user, pw),)
                        async with session.get(url, middlewares=mw) as r:
                            body = await r.read()
                            good = r.status == 200 and body[:2] == b"\xff\xd8"
                    else:
                        async with session.post(url, data=_envelope(user, pw),
                                                headers={"Content-Type": "application/soap+xml"}) as r:
                            body = await r.read()
                            good = r.status == 200 and b"Response" in body or b"<ok/>" in body
                    ok += good
                    err += not good
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                    err += 1
        t0 = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        return ok, err, time.monotonic() - t0


SYS_OIDS = [(1, 3, 6, 1, 2, 1, 1, c, 0) for c in (1, 2, 3, 5)]
IF_COLS = [(1, 3, 6, 1, 2, 1, 2, 2, 1, c) for c in (2, 7, 8, 10, 14, 16, 20)]


def _cpu_s(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def _snmp_requests(community: str, rid: int) -> list[bytes]:
    from simulator.snmp_fast import enc_int, enc_oid, tlv

    def msg(tag: int, oids, f1: int, f2: int, r: int) -> bytes:
        vbs = b"".join(tlv(0x30, enc_oid(o) + b"\x05\x00") for o in oids)
        pdu = tlv(tag, enc_int(2, r) + enc_int(2, f1) + enc_int(2, f2) + tlv(0x30, vbs))
        return tlv(0x30, b"\x02\x01\x01" + tlv(0x04, community.encode()) + pdu)
    return [msg(0xA0, SYS_OIDS, 0, 0, rid), msg(0xA5, IF_COLS, 0, 10, rid + 1)]


async def _snmp_load(devices: list[tuple[str, int, str]], concurrency: int,
                     timeout: float = 2.0) -> tuple[int, int, float]:
    """Every device once: GET then GETBULK, `concurrency` devices in flight; returns
    (devices fully answered, requests timed out, elapsed)."""
    import socket
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    waiting: dict[int, asyncio.Future] = {}
    from simulator.snmp_fast import NotOurs, _head

    def _request_id(d: bytes) -> int:
        _t, s, e = _head(d, 0, len(d))
        _t, s, e2 = _head(d, s, e)            # version
        _t, s, e3 = _head(d, e2, e)           # community
        _t, s, e4 = _head(d, e3, e)           # PDU
        _t, s, e5 = _head(d, s, e4)           # request-id
        return int.from_bytes(d[s:e5], "big", signed=True)

    def readable() -> None:
        while True:
            try:
                data = sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            try:
                fut = waiting.pop(_request_id(data), None)
            except NotOurs:
                continue
            if fut is not None and not fut.done():
                fut.set_result(data)
    loop.add_reader(sock.fileno(), readable)
    ok = lost = 0
    queue = list(devices)

    async def worker(k: int) -> None:
        nonlocal ok, lost
        rid = 1_000_000 * (k + 1)
        while queue:
            ip, port, community = queue.pop()
            good = True
            for key, req in enumerate(_snmp_requests(community, rid), rid):
                fut = loop.create_future()
                waiting[key] = fut
                sock.sendto(req, (ip, port))
                try:
                    await asyncio.wait_for(fut, timeout)
                except asyncio.TimeoutError:
                    waiting.pop(key, None)
                    lost += 1
                    good = False
            rid += 2
            ok += good
    t0 = time.monotonic()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    loop.remove_reader(sock.fileno())
    sock.close()
    return ok, lost, time.monotonic() - t0


def snmp_compare(n: int, concurrency: int, tmp: Path) -> list[str]:
    """The fast path and the pysnmp agent, same fleet shape and client, one after the other."""
    sys.path.insert(0, str(ROOT))
    from simulator.testing import FleetProcess
    lines, per = [], {}
    for k, agent in enumerate(("fast", "pysnmp")):
        with FleetProcess(devices=n, seed=3, base_address=f"127.10.{170 + k}.1", control_port=18894 - k,
                          tmp_dir=tmp, truth=False, snmp_port=18283, start_timeout=600,
                          extra_args=["--snmp-agent", agent]) as fleet:
            devs = [(d["ip"], d["snmp_port"], d["snmp_community"]) for d in fleet.devices()
                    if not d.get("snmp_v3")]
            c0 = _cpu_s(fleet.proc.pid)
            ok, lost, wall = asyncio.run(_snmp_load(devs, concurrency))
            cpu = _cpu_s(fleet.proc.pid) - c0
        per[agent] = cpu / len(devs)
        lines.append(f"SNMP agent {agent:6s}: {len(devs)} v2c devices (GET 4 objects + GETBULK 7x10), "
                     f"{concurrency} in flight: {ok / wall:.0f} devices/s, {ok} answered, {lost} requests "
                     f"timed out (2 s); simulator CPU {1000 * per[agent]:.2f} ms/device; load average "
                     f"{os.getloadavg()[0]:.1f}")
    lines.append(f"ratio pysnmp/fast simulator CPU per device: {per['pysnmp'] / per['fast']:.1f}x")
    return lines


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.simulator")
    ap.add_argument("--devices", type=int, default=10000)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--snmp-devices", type=int, default=1000)
    ap.add_argument("--snmp-only", action="store_true")
    a = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-sim-"))
    if a.snmp_only:
        print("\n".join(snmp_compare(a.snmp_devices, a.concurrency, tmp)))
        return 0
    inv = tmp / "fleet.csv"
    log = open(tmp / "sim.log", "wb")
    t0 = time.monotonic()
    sim = subprocess.Popen([sys.executable, "-m", "simulator", "--devices", str(a.devices), "--seed", "1",
                            "--inventory", str(inv), "--base-address", BASE, "--control-port", str(CONTROL),
                            "--onvif-port", str(ONVIF), "--snmp-port", str(SNMP), "--quiet"],
                           cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    peer = subprocess.Popen([sys.executable, "-c", PEER_CODE, PEER_ADDR, str(PEER_PORT)], cwd=ROOT)
    try:
        while not inv.exists():
            if sim.poll() is not None:
                print(f"simulator exited {sim.returncode}: {(tmp / 'sim.log').read_text()[-1500:]}")
                return 1
            if time.monotonic() - t0 > 300:
                print("simulator not ready after 300 s")
                return 1
            time.sleep(0.05)
        startup = time.monotonic() - t0
        rss_start = _rss_mb(sim.pid)
        with open(inv, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        cams = [r for r in rows if r["kind"] == "camera"]
        onvif_targets = [(f"http://{r['ip']}:{r['onvif_port']}/onvif/device_service", r["username"], r["password"])
                         for r in rows]
        snap_targets = [(f"http://{r['ip']}:{r['onvif_port']}/onvif/snapshot?profile=Profile_1",
                         r["username"], r["password"]) for r in cams]
        sim_ok, sim_err, sim_t = asyncio.run(_load(onvif_targets, a.seconds, a.concurrency))
        one_ok, one_err, one_t = asyncio.run(_load(onvif_targets[2:3], a.seconds, a.concurrency))
        peer_ok, peer_err, peer_t = asyncio.run(
            _load([(f"http://{PEER_ADDR}:{PEER_PORT}/onvif/device_service", "u", "p")], a.seconds, a.concurrency))
        snap_ok, snap_err, snap_t = asyncio.run(_load(snap_targets, a.seconds / 2, min(a.concurrency, 16),
                                                      snapshot=True))
        rss_end = _rss_mb(sim.pid)
        sim_rps, one_rps, peer_rps = sim_ok / sim_t, one_ok / one_t, peer_ok / peer_t
        print(f"devices: {len(rows)} ({len(cams)} cameras), one process")
        print(f"start-up until every device answered and the inventory was written: {startup:.1f} s")
        print(f"simulator RSS: {rss_start:.0f} MB after start-up, {rss_end:.0f} MB after the load")
        print(f"ONVIF GetDeviceInformation (WS-Security digest), {a.concurrency} in flight over {len(rows)} "
              f"addresses: {sim_rps:.0f} req/s ({sim_ok} ok, {sim_err} errors)")
        print(f"ONVIF GetDeviceInformation, same client, all to one device (keep-alive): {one_rps:.0f} req/s "
              f"({one_ok} ok, {one_err} errors)")
        print(f"peer: aiohttp hello-world on one address, same client and shape: {peer_rps:.0f} req/s "
              f"({peer_ok} ok, {peer_err} errors)")
        print(f"ratio simulator/peer, one address each: {one_rps / peer_rps:.2f}; "
              f"spread over {len(rows)} addresses (mostly new connections): {sim_rps / peer_rps:.2f}")
        print(f"snapshots (Digest, 1280x720 JPEG rendered per capture): {snap_ok / snap_t:.0f} /s "
              f"({snap_ok} ok, {snap_err} errors)")
    finally:
        for p in (sim, peer):
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()
    if a.snmp_devices:
        print("\n".join(snmp_compare(a.snmp_devices, a.concurrency, tmp)))
    return 0 if sim_err == 0 and one_err == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
