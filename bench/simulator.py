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

    .venv/bin/python -m bench.simulator [--devices 10000] [--seconds 8] [--concurrency 100]
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


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.simulator")
    ap.add_argument("--devices", type=int, default=10000)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--concurrency", type=int, default=100)
    a = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-sim-"))
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
        return 0 if sim_err == 0 and one_err == 0 else 1
    finally:
        for p in (sim, peer):
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
