"""The running fleet: sockets per device address, fault application, and the handler
that answers ONVIF SOAP and snapshot requests.

Reachability faults are made with real sockets, so any client sees them as on a city
network:
- up: a listening socket on ip:onvif_port;
- refuse: no listening socket, so the kernel answers RST (connection refused);
- drop: a listening socket with a full accept queue (backlog 0, plugged by our own
  connection), so the kernel silently drops new SYNs: clients see connect timeouts,
  not refusals; existing connections are left hanging unanswered.
"""
from __future__ import annotations

import asyncio
import logging
import resource
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from . import frames, quirks
from .faults import (ALL_FAULTS, DEFAULT_PARAMS, PICTURE_FAULTS, DeviceState, TruthLog,
                     fault_misfit)
from .fleet import DeviceSpec
from .httpd import HttpProtocol, Request, Response
from .latency import Latency
from .onvif import OnvifContext
from .snmp import FleetAgent, engine_id

log = logging.getLogger("simulator")


class Fleet:
    def __init__(self, specs: list[DeviceSpec], latency: Latency | None = None,
                 truth: TruthLog | None = None, seed: int = 0,
                 snmp_wildcard: bool | None = None, wsse_window_s: float = 60.0):
        self.specs = specs
        self.states: dict[str, DeviceState] = {s.serial: DeviceState(s) for s in specs}
        for st in self.states.values():
            if st.spec.upstream:
                st.upstream_state = self.states.get(st.spec.upstream)
        self.by_ip = {s.spec.ip: s for s in self.states.values()}
        self.latency = latency or Latency()
        self.truth = truth or TruthLog(None)
        self.onvif = OnvifContext(self.states, wsse_window_s)
        self.seed = seed
        self.servers: dict[str, asyncio.base_events.Server] = {}
        self.pending: dict[str, socket.socket] = {}     # listening, serving not yet started
        self.plugs: dict[str, list[socket.socket]] = {}
        self.conns: dict[str, set] = {}
        self.derived: dict[str, dict[str, float]] = {}   # serial -> cause -> start
        self.dynamic: set[str] = set()
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jpeg")
        self.snmp_wildcard = snmp_wildcard if snmp_wildcard is not None else len(specs) > 2000
        self.agent = FleetAgent(self.states, time.time, self._snmp_delay, seed)
        self._tick_task: asyncio.Task | None = None

    # -- start / stop -----------------------------------------------------------
    async def start(self, progress: bool = False) -> None:
        loop = asyncio.get_running_loop()
        n = len(self.specs)
        for i, st in enumerate(self.states.values(), 1):
            await self._listen(st)
            if progress and (i % 500 == 0 or i == n):
                print(f"\rstarting: {i}/{n} devices listening", end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)
        ports = {s.snmp_port for s in self.specs}
        if self.snmp_wildcard and len(ports) != 1:
            raise ValueError("wildcard SNMP needs one SNMP port for the whole fleet")
        self.agent.start(loop, next(iter(ports)), self.snmp_wildcard, self._snmp_gate)
        # Descriptors left for connections after the listeners and SNMP sockets.
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        used = n + (1 if self.snmp_wildcard else n) + 200
        HttpProtocol.max_open = max(64, soft - used - 500)
        self._tick_task = loop.create_task(self._tick())

    async def stop(self) -> None:
        if self._tick_task:
            self._tick_task.cancel()
        for serial in set(self.servers) | set(self.pending):
            self._unlisten(serial)
        for serial in list(self.plugs):
            self._unplug(serial)
        for conns in self.conns.values():
            for c in list(conns):
                c.abort()
        self.agent.close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.truth.close()

    def _listening_socket(self, st: DeviceState, backlog: int = 128) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((st.spec.ip, st.spec.onvif_port))
        sock.listen(backlog)
        sock.setblocking(False)
        return sock

    def _factory(self, st: DeviceState):
        conns = self.conns.setdefault(st.spec.serial, set())
        return lambda: HttpProtocol(st, self.handle, conns)

    async def _listen(self, st: DeviceState) -> None:
        sock = self._listening_socket(st)
        self.servers[st.spec.serial] = await asyncio.get_running_loop().create_server(
            self._factory(st), sock=sock)

    def _unlisten(self, serial: str) -> None:
        server = self.servers.pop(serial, None)
        if server is not None:
            server.close()
        pending = self.pending.pop(serial, None)
        if pending is not None:
            pending.close()

    def _plug(self, st: DeviceState) -> None:
        """Hold the port with a full accept queue: new SYNs are dropped."""
        lsock = self._listening_socket(st, backlog=0)
        held = [lsock]
        for _ in range(2):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect((st.spec.ip, st.spec.onvif_port))
            except (BlockingIOError, InterruptedError):
                pass
            held.append(c)
        self.plugs[st.spec.serial] = held

    def _unplug(self, serial: str) -> None:
        for s in self.plugs.pop(serial, []):
            s.close()

    # -- faults -------------------------------------------------------------------
    def reconcile(self, st: DeviceState, now: float | None = None) -> None:
        """Make the device's sockets match its faults; then its downstream devices."""
        now = time.time() if now is None else now
        want = st.reach(now)
        serial = st.spec.serial
        if want != st.applied_reach:
            if st.applied_reach == "up":
                self._unlisten(serial)
            elif st.applied_reach == "drop":
                self._unplug(serial)
            if want == "refuse":
                for c in list(self.conns.get(serial, ())):
                    c.abort()
            if want == "drop":
                self._plug(st)
            elif want == "up":
                self._listen_now(st)
            st.applied_reach = want
            self._derived_truth(st, now)
        if st.spec.kind in ("switch", "nvr"):  # an NVR's downstream: cameras on its PoE ports
            for ds in st.spec.downstream:
                child = self.states.get(ds)
                if child is not None:
                    self.reconcile(child, now)

    def _listen_now(self, st: DeviceState) -> None:
        """Re-listen from synchronous code: the socket listens (the kernel accepts) at once,
        so the control API's change is in effect before it answers; asyncio starts
        serving it on the next loop turn."""
        serial = st.spec.serial
        sock = self._listening_socket(st)
        self.pending[serial] = sock
        loop = asyncio.get_running_loop()
        task = loop.create_task(loop.create_server(self._factory(st), sock=sock))
        task.add_done_callback(lambda t: self._server_ready(serial, sock, t))

    def _server_ready(self, serial: str, sock: socket.socket, task: asyncio.Task) -> None:
        if self.pending.get(serial) is not sock:
            # Went down again before serving started: _unlisten closed the socket.
            if not task.cancelled() and task.exception() is None:
                task.result().close()
            return
        del self.pending[serial]
        if task.cancelled() or task.exception() is not None:
            log.error("re-listen failed for %s: %s", serial, None if task.cancelled() else task.exception())
            return
        self.servers[serial] = task.result()

    def _derived_truth(self, st: DeviceState, now: float) -> None:
        """Truth lines for down time that no fault of the device's own names: behind a
        switch that is down ("cause": "upstream:<serial>") and the off phases of a flap
        ("cause": "flap") and power cut by a faulty PoE port ("cause": "poe_fault"), all
        as "fault": "offline"."""
        serial = st.spec.serial
        own = st.own_reach(now)
        causes = set()
        if own == "up" and st.reach(now) != "up":
            causes.add(f"upstream:{st.spec.upstream}")
        if own == "drop" and "offline" not in st.faults:
            if "poe_fault" in st.faults:
                causes.add("poe_fault")       # unpowered by its switch port
            elif "flap" in st.faults:
                causes.add("flap")
        open_ = self.derived.get(serial, {})
        for cause in [c for c in open_ if c not in causes]:
            self.truth.write(serial, "offline", open_.pop(cause), now, cause=cause)
        for cause in causes - set(open_):
            open_[cause] = now
            self.truth.write(serial, "offline", now, None, cause=cause)
        if open_:
            self.derived[serial] = open_
        else:
            self.derived.pop(serial, None)

    def set_faults(self, serial: str, faults: list[str], params: dict[str, float],
                   now: float | None = None) -> DeviceState:
        now = time.time() if now is None else now
        st = self.states[serial]
        params = dict(params)
        # `started_ago_s`: the faults began that long ago (a test needs no sleep to put the
        # fault's start behind "now"); not kept as a device parameter.
        started = now - max(0.0, float(params.pop("started_ago_s", 0.0)))
        bad = [f for f in faults if f not in ALL_FAULTS]
        if bad:
            raise ValueError(f"unknown fault(s): {', '.join(bad)}")
        badp = [p for p in params if p not in DEFAULT_PARAMS]
        if badp:
            raise ValueError(f"unknown parameter(s): {', '.join(badp)}")
        misfits = [m for m in (fault_misfit(st.spec, f) for f in faults) if m]
        if misfits:
            raise ValueError("; ".join(misfits))
        st.params.update({k: float(v) for k, v in params.items()})
        for f in faults:
            if f in st.faults and f != "reboot":
                continue
            if f == "reboot":
                if "reboot" in st.faults:
                    self.truth.write(serial, "reboot", st.faults["reboot"], now)
                st.boot_time = now + st.param("reboot_s")
                st.reboots += 1
            if f == "frozen":
                st.frozen_jpeg = None
            if f == "ptz_stuck":
                st.stuck_view = st.view_position(now)
            st.faults[f] = now if f == "reboot" else started
            self.truth.write(serial, f, st.faults[f], None, **self._truth_params(st, f))
        if st.time_dependent():
            self.dynamic.add(serial)
        self.reconcile(st, now)
        return st

    def clear_faults(self, serial: str, faults: list[str] | None = None,
                     now: float | None = None) -> DeviceState:
        now = time.time() if now is None else now
        st = self.states[serial]
        for f in list(st.faults):
            if faults is None or f in faults:
                start = st.faults.pop(f)
                if f == "reboot" and now < st.boot_time:
                    st.boot_time = now      # booted early
                if f == "frozen":
                    st.frozen_jpeg = None
                if f == "ptz_stuck":
                    st.stuck_view = None
                self.truth.write(serial, f, start, now, **self._truth_params(st, f))
        if faults is None:
            st.params.clear()
        if not st.time_dependent():
            self.dynamic.discard(serial)
        self.reconcile(st, now)
        return st

    @staticmethod
    def _truth_params(st: DeviceState, fault: str) -> dict:
        keys = {"clock_drift": "clock_offset_s", "wrong_timezone": "timezone_offset_h",
                "slow": "slow_s", "flap": "flap_period_s", "reboot": "reboot_s"}
        k = keys.get(fault)
        return {k: st.param(k)} if k else {}

    async def _tick(self) -> None:
        """Time-driven faults: flap phases and reboots finishing."""
        while True:
            await asyncio.sleep(0.05)
            now = time.time()
            for serial in list(self.dynamic):
                st = self.states[serial]
                if "reboot" in st.faults and now >= st.boot_time:
                    start = st.faults.pop("reboot")
                    self.truth.write(serial, "reboot", start, st.boot_time, reboot_s=st.param("reboot_s"))
                if not st.time_dependent():
                    self.dynamic.discard(serial)
                self.reconcile(st, now)

    # -- answering ------------------------------------------------------------------
    def _snmp_gate(self, ip: str) -> bool:
        st = self.by_ip.get(ip)
        return st is not None and st.reach(time.time()) == "up"

    def _snmp_delay(self, st: DeviceState) -> float:
        d = self.latency.sample("snmp")
        if "slow" in st.faults:
            d += st.param("slow_s")
        return d

    async def handle(self, st: DeviceState, req: Request) -> Response | None:
        now = time.time()
        if st.reach(now) != "up":
            return None
        snapshot = req.path == "/onvif/snapshot"
        delay = self.latency.sample("snapshot" if snapshot else "onvif")
        if "slow" in st.faults:
            delay += st.param("slow_s")
        if delay > 0:
            await asyncio.sleep(delay)
            now = time.time()
            if st.reach(now) != "up":
                return None
        if snapshot:
            resp = await self._snapshot(st, req, now)
        elif req.path.startswith("/onvif/") and req.path.endswith("_service"):
            resp = self._soap(st, req, now)
        else:
            resp = Response(404, b"not found")
        if "truncated_http" in st.faults:
            resp.truncate = True
        return resp

    def _soap(self, st: DeviceState, req: Request, now: float) -> Response:
        if req.method != "POST":
            return Response(405, b"POST only", headers=[("Allow", "POST")])
        status, text, ctype, headers = quirks.soap(
            self.onvif, st, req.headers.get("authorization", ""), req.path, req.body, now,
            password_ok="bad_credentials" not in st.faults)
        if isinstance(text, bytes):     # a quirk's non-SOAP answer (HTML, plain text)
            return Response(status, text, ctype, headers=headers)
        if "non_utf8_xml" in st.faults:
            # Firmware that writes the device name in GB18030 while declaring UTF-8.
            text = text.replace("<s:Body>", f"<s:Body><!-- {st.spec.name} -->", 1)
            body = text.encode("gb18030")
        else:
            body = text.encode("utf-8")
        if "malformed_xml" in st.faults:
            cut = body.rfind(b"</s:Body>")
            body = body[:cut] + b"<tt:Broken attr=\"1><</s:Envelope"
        return Response(status, body, ctype, headers=headers)

    async def _snapshot(self, st: DeviceState, req: Request, now: float) -> Response:
        if st.spec.kind not in ("camera", "nvr") or "no_snapshot" in st.faults:
            return Response(404, b"no snapshot on this device")
        auth = req.headers.get("authorization", "")
        if "bad_credentials" in st.faults or not quirks.snapshot_auth_ok(st, req.method, auth):
            return Response(401, b"Unauthorized", "text/html",
                            headers=[("WWW-Authenticate", quirks.snapshot_challenge(st))])
        ctype = quirks.snapshot_content_type(st)
        faults = {f for f in st.faults if f in PICTURE_FAULTS}
        if "frozen" in faults and st.frozen_jpeg is not None:
            return Response(200, st.frozen_jpeg, ctype)
        loop = asyncio.get_running_loop()
        scene = st.spec.scene if st.spec.kind == "camera" else st.spec.index * 7919
        jpeg = await loop.run_in_executor(self.pool, frames.render_jpeg, scene, st.spec.alt_scene,
                                          faults, now, 85, st.view_position(now), st.tint)
        if "frozen" in st.faults:
            st.frozen_jpeg = st.frozen_jpeg or jpeg
            jpeg = st.frozen_jpeg
        return Response(200, jpeg, ctype)

    # -- description -----------------------------------------------------------------
    def describe(self, st: DeviceState, now: float | None = None) -> dict:
        now = time.time() if now is None else now
        s = st.spec
        return {
            "serial": s.serial, "name": s.name, "kind": s.kind, "role": s.role,
            "vendor": s.vendor, "model": s.model, "mac": s.mac, "ip": s.ip,
            "onvif_port": s.onvif_port, "snmp_port": s.snmp_port,
            "username": s.username, "password": s.password,
            "snmp_community": s.snmp_community,
            "snmp_engine_id": engine_id(s.enterprise, s.serial).hex(),
            "snmp_v3": None if s.snmp_v3 is None else {
                "user": s.snmp_v3.user, "auth_protocol": s.snmp_v3.auth_protocol,
                "auth_key": s.snmp_v3.auth_key, "priv_protocol": s.snmp_v3.priv_protocol,
                "priv_key": s.snmp_v3.priv_key},
            "community": s.community, "community_index": s.community_index,
            "district": s.district, "community_type": s.community_type,
            "contract": s.contract, "contractor": s.contractor, "installed_on": s.installed_on,
            "upstream": s.upstream or None, "switch_port": s.switch_port,
            "paired_with": s.paired_with or None, "ports": s.ports or None,
            "downstream": list(s.downstream),
            "faults": sorted(st.faults), "params": dict(st.params), "tint": st.tint,
            "reach": st.reach(now), "uptime_s": round(st.uptime_s(now), 3),
            "clock_offset_s": round(st.device_clock(now) - now, 3),
            "ptz": st.ptz is not None,
            "rtsp_uri": (f"rtsp://{s.ip}:{st.rtsp_port}/Streaming/Channels/101"
                         if st.rtsp_port else None),
            "ptz_position": None if st.ptz is None else [round(v, 6) for v in st.ptz.position(now)],
        }
