"""The optional PTZ check: against the simulator's PTZ domes (its road cameras: ONVIF PTZ
service, a snapshot that pans with the head, the ptz_stuck fault), its fixed cameras (the
"no PTZ" case), and a small stand-in over real loopback HTTP kept for the probe's own
bookkeeping (moves counted, head left where it was)."""
from __future__ import annotations

import re

import cv2
import numpy as np
from aiohttp import web

from probes.config import TierSpec
from probes.context import ProbeContext
from probes.model import DeviceTarget
from probes.ptz import check_ptz
from probes.runner import probe_one
from probe_helpers import run, sim_target

HOST, PORT = "127.20.9.1", 18973
ENVELOPE = ('<?xml version="1.0" encoding="UTF-8"?><s:Envelope '
            'xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl" '
            'xmlns:tt="http://www.onvif.org/ver10/schema"><s:Body>{}</s:Body></s:Envelope>')


def fake_ptz_camera(stuck: bool):
    rng = np.random.default_rng(3)
    scene = cv2.GaussianBlur(rng.integers(0, 255, (240, 1600, 3), dtype=np.uint8), (0, 0), 3)
    state = {"pan": 0.0, "moves": 0}

    async def ptz(request: web.Request) -> web.Response:
        body = await request.text()
        if "RelativeMove" in body:
            x = float(re.search(r'PanTilt[^>]*\bx="([-0-9.eE]+)"', body).group(1))
            state["moves"] += 1
            if not stuck:
                state["pan"] = round(state["pan"] + x, 6)
            answer = "<tptz:RelativeMoveResponse/>"
        else:
            answer = ('<tptz:GetStatusResponse><tptz:PTZStatus><tt:Position>'
                      f'<tt:PanTilt x="{state["pan"]}" y="0"/></tt:Position>'
                      '<tt:MoveStatus><tt:PanTilt>IDLE</tt:PanTilt></tt:MoveStatus>'
                      '<tt:UtcTime>2026-01-01T00:00:00Z</tt:UtcTime>'
                      '</tptz:PTZStatus></tptz:GetStatusResponse>')
        return web.Response(text=ENVELOPE.format(answer),
                            content_type="application/soap+xml", charset="utf-8")

    async def snap(request: web.Request) -> web.Response:
        x0 = 600 + int(state["pan"] * 4000)          # 0.05 of pan = 200 pixels
        ok, jpg = cv2.imencode(".jpg", scene[:, x0:x0 + 320])
        return web.Response(body=jpg.tobytes(), content_type="image/jpeg")

    app = web.Application()
    app.router.add_post("/onvif/ptz_service", ptz)
    app.router.add_get("/snap.jpg", snap)
    return app, state


async def _check(stuck: bool):
    app, state = fake_ptz_camera(stuck)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, HOST, PORT)
    await site.start()
    try:
        async with ProbeContext() as ctx:
            res = await check_ptz(ctx.onvif(), ctx.http(), DeviceTarget("PTZ-1", HOST),
                                  f"http://{HOST}:{PORT}/onvif/ptz_service", "Profile_1",
                                  f"http://{HOST}:{PORT}/snap.jpg")
        return res, state
    finally:
        await runner.cleanup()


def test_ptz_moves_the_picture_and_returns():
    res, state = run(_check(stuck=False), 20)
    assert res.ok, res.error
    assert res.moved and res.returned and res.change_moved > res.change_back
    assert res.position_before == [0.0, 0.0] and res.position_after == [0.05, 0.0]
    assert state["pan"] == 0.0 and state["moves"] == 2          # left where it was


def test_stuck_ptz_is_a_fault():
    res, state = run(_check(stuck=True), 20)
    assert not res.ok and res.moved is False and res.error.kind == "fault"


PTZ_SPEC = TierSpec("ptz", ["onvif", "ptz"], timeouts={"onvif": 5, "ptz": 15, "frame": 5})


def test_camera_without_ptz_is_unsupported(fleet_devices):
    cam = next(d for d in fleet_devices["camera"] if not d["ptz"])
    res = run(probe_one(sim_target(cam), PTZ_SPEC), 20)
    assert res.onvif.ok and res.ptz.error.kind == "unsupported"


def test_fleet_dome_moves_and_returns(fleet, fleet_devices):
    dome = next(d for d in fleet_devices["camera"] if d["ptz"])
    res = run(probe_one(sim_target(dome), PTZ_SPEC), 30)
    assert res.onvif.ok and "ptz" in res.onvif.service_addresses
    assert res.ptz.ok, res.ptz.error
    assert res.ptz.position_after == [0.05, 0.0]
    assert res.ptz.change_moved > 2 * res.ptz.change_back
    assert fleet.device(dome["serial"])["ptz_position"] == [0.0, 0.0]   # moved back


def test_fleet_dome_stuck_is_a_fault(fleet, fleet_devices, faulted):
    dome = next(d for d in fleet_devices["camera"] if d["ptz"])
    faulted(dome["serial"], ["ptz_stuck"])
    res = run(probe_one(sim_target(dome), PTZ_SPEC), 30)
    assert res.onvif.ok
    assert not res.ptz.ok and res.ptz.moved is False and res.ptz.error.kind == "fault"
    # The head reported the move (the firmware believes it), only the picture tells.
    assert res.ptz.position_after == [0.05, 0.0]
    assert fleet.device(dome["serial"])["ptz_position"] == [0.0, 0.0]
