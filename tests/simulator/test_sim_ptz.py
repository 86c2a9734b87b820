"""PTZ domes (every road camera): ONVIF PTZ service through onvif-zeep-async, a snapshot
that really pans with the head, and the ptz_stuck fault (moves accepted, picture still)."""
from __future__ import annotations

import asyncio

import cv2
import numpy as np
import pytest

from sim_helpers import camera, pick, run, snapshot


def _gray(resp) -> np.ndarray:
    assert resp.status_code == 200, resp.status_code
    img = cv2.imdecode(np.frombuffer(resp.content, np.uint8), cv2.IMREAD_GRAYSCALE)
    return cv2.resize(img, (320, 180), interpolation=cv2.INTER_AREA).astype(np.int16)


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


@pytest.fixture
def dome(fleet):
    d = pick(fleet, "camera", ptz=True)
    yield d
    # Leave the head where other tests expect it (faults are cleared by conftest).
    fleet.clear_faults(d["serial"])
    run(_ops(d, [("AbsoluteMove", {"Position": {"PanTilt": {"x": 0, "y": 0}}})]))
    run(_wait_idle(d))


async def _ptz(d: dict):
    cam = camera(d)
    await cam.update_xaddrs()
    return cam, await cam.create_ptz_service()


async def _ops(d: dict, ops: list[tuple[str, dict]]) -> list:
    cam, ptz = await _ptz(d)
    try:
        out = []
        for name, args in ops:
            out.append(await getattr(ptz, name)({"ProfileToken": "Profile_1", **args}))
        return out
    finally:
        await cam.close()


async def _wait_idle(d: dict, limit: float = 5.0):
    cam, ptz = await _ptz(d)
    try:
        async with asyncio.timeout(limit):
            while True:
                st = await ptz.GetStatus({"ProfileToken": "Profile_1"})
                if st.MoveStatus.PanTilt == "IDLE":
                    return st
                await asyncio.sleep(0.02)
    finally:
        await cam.close()


def test_only_domes_offer_ptz(fleet):
    devs = [d for d in fleet.devices() if d["kind"] == "camera"]
    assert any(d["ptz"] for d in devs) and not all(d["ptz"] for d in devs)
    assert all(d["ptz"] == (d["role"] == "road") for d in devs)

    async def services(d):
        cam = camera(d)
        try:
            await cam.update_xaddrs()
            media = await cam.create_media_service()
            profiles = await media.GetProfiles()
            return set(cam.xaddrs), profiles[0].PTZConfiguration
        finally:
            await cam.close()

    dome = next(d for d in devs if d["ptz"])
    fixed = next(d for d in devs if not d["ptz"])
    xaddrs, conf = run(services(dome))
    assert "http://www.onvif.org/ver20/ptz/wsdl" in xaddrs
    assert conf.token == "PTZConfig_1" and conf.NodeToken == "PTZNode_1"
    xaddrs, conf = run(services(fixed))
    assert "http://www.onvif.org/ver20/ptz/wsdl" not in xaddrs and conf is None


def test_nodes_configurations_and_status(dome):
    async def go():
        cam, ptz = await _ptz(dome)
        try:
            nodes = await ptz.GetNodes()
            confs = await ptz.GetConfigurations()
            status = await ptz.GetStatus({"ProfileToken": "Profile_1"})
            return nodes, confs, status
        finally:
            await cam.close()
    nodes, confs, status = run(go())
    spaces = nodes[0].SupportedPTZSpaces
    assert nodes[0].token == "PTZNode_1"
    assert spaces.RelativePanTiltTranslationSpace[0].XRange.Max == 1
    assert spaces.ContinuousPanTiltVelocitySpace[0].URI.endswith("VelocityGenericSpace")
    assert confs[0].token == "PTZConfig_1" and confs[0].DefaultPTZTimeout.total_seconds() == 5
    assert (status.Position.PanTilt.x, status.Position.PanTilt.y) == (0, 0)
    assert status.MoveStatus.PanTilt == "IDLE"


def test_relative_move_pans_the_picture_and_back(dome):
    still = [_gray(snapshot(dome)) for _ in range(2)]
    _, status = run(_ops(dome, [("RelativeMove", {"Translation": {"PanTilt": {"x": 0.05, "y": 0}}}),
                                ("GetStatus", {})]))
    assert status.MoveStatus.PanTilt == "MOVING"     # a head takes time to get there
    st = run(_wait_idle(dome))
    assert (st.Position.PanTilt.x, st.Position.PanTilt.y) == (0.05, 0)
    moved = _gray(snapshot(dome))
    run(_ops(dome, [("RelativeMove", {"Translation": {"PanTilt": {"x": -0.05, "y": 0}}})]))
    run(_wait_idle(dome))
    back = _gray(snapshot(dome))
    noise = _diff(still[0], still[1])
    assert _diff(still[0], moved) > 3 * noise + 4
    assert _diff(still[0], back) < _diff(still[0], moved) / 2
    # The shift is a pan: the moved frame's left part is the first frame's right part.
    shift = 192 // 4          # 0.05 of pan = 192 px at 1280 wide, 48 px at 320
    assert _diff(still[0][:, shift:], moved[:, :-shift]) < _diff(still[0], moved) / 2


def test_continuous_move_until_stop_and_tilt(dome):
    async def go():
        cam, ptz = await _ptz(dome)
        try:
            await ptz.ContinuousMove({"ProfileToken": "Profile_1", "Timeout": "PT10S",
                                      "Velocity": {"PanTilt": {"x": -0.5, "y": 0.25}}})
            await asyncio.sleep(0.2)
            moving = await ptz.GetStatus({"ProfileToken": "Profile_1"})
            await ptz.Stop({"ProfileToken": "Profile_1", "PanTilt": True})
            a = await ptz.GetStatus({"ProfileToken": "Profile_1"})
            await asyncio.sleep(0.2)
            b = await ptz.GetStatus({"ProfileToken": "Profile_1"})
            return moving, a, b
        finally:
            await cam.close()
    moving, a, b = run(go())
    assert moving.MoveStatus.PanTilt == "MOVING"
    assert a.MoveStatus.PanTilt == "IDLE"
    assert a.Position.PanTilt.x < -0.05 and a.Position.PanTilt.y > 0.02
    assert (b.Position.PanTilt.x, b.Position.PanTilt.y) == (a.Position.PanTilt.x, a.Position.PanTilt.y)


def test_ptz_stuck_accepts_moves_but_the_picture_stays(fleet, dome):
    before = _gray(snapshot(dome))
    fleet.set_faults(dome["serial"], ["ptz_stuck"])
    run(_ops(dome, [("AbsoluteMove", {"Position": {"PanTilt": {"x": 0.3, "y": 0.1}}})]))
    st = run(_wait_idle(dome))
    assert (st.Position.PanTilt.x, st.Position.PanTilt.y) == (0.3, 0.1)   # the firmware believes it
    stuck = _gray(snapshot(dome))
    fleet.clear_faults(dome["serial"], "ptz_stuck")
    free = _gray(snapshot(dome))          # repaired: the lens is where the head says
    assert _diff(before, stuck) < _diff(before, free) / 2
    assert fleet.device(dome["serial"])["ptz_position"] == [0.3, 0.1]
    assert any(t["fault"] == "ptz_stuck" and t["serial"] == dome["serial"] and t["end"]
               for t in fleet.truth())


def test_ptz_on_a_fixed_camera_is_refused(fleet):
    fixed = pick(fleet, "camera", ptz=False)
    with pytest.raises(RuntimeError, match="400"):
        fleet.set_faults(fixed["serial"], ["ptz_stuck"])
    from onvif.exceptions import ONVIFError
    from zeep.exceptions import Fault

    async def go():
        cam = camera(fixed)
        try:
            await cam.update_xaddrs()
            # Point a PTZ client at the device service URL: the camera must refuse.
            cam.xaddrs["http://www.onvif.org/ver20/ptz/wsdl"] = cam.xaddrs[
                "http://www.onvif.org/ver10/device/wsdl"].replace("device_service", "ptz_service")
            ptz = await cam.create_ptz_service()
            await ptz.GetStatus({"ProfileToken": "Profile_1"})
        finally:
            await cam.close()
    with pytest.raises((ONVIFError, Fault), match="(?i)not supported|no PTZ"):
        run(go())


def test_scenarios_give_device_faults_only_to_devices_that_can_have_them():
    from simulator.fleet import generate
    from simulator.scenario import ScenarioError, build_timeline
    specs = generate(60, seed=11)
    fixed = next(s for s in specs if s.kind == "camera" and not s.ptz)
    with pytest.raises(ScenarioError, match="no PTZ head"):
        build_timeline({"events": [{"device": fixed.serial, "faults": ["ptz_stuck"]}]}, specs, 1)
    sw = next(s for s in specs if s.kind == "switch")
    with pytest.raises(ScenarioError, match="not powered from a switch port"):
        build_timeline({"events": [{"device": sw.serial, "faults": ["poe_fault"]}]}, specs, 1)
    acts = build_timeline({"random": [{"faults": ["ptz_stuck", "poe_fault"], "rate_per_hour": 3600,
                                       "duration_s": 1, "until": 600}]}, specs, 1)
    by_serial = {s.serial: s for s in specs}
    hit = {(a.faults[0], a.serial) for a in acts if a.set}
    assert {f for f, _ in hit} == {"ptz_stuck", "poe_fault"}
    assert all(by_serial[s].ptz for f, s in hit if f == "ptz_stuck")
    assert all(by_serial[s].switch_port for f, s in hit if f == "poe_fault")
