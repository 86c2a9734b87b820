"""Every non-picture fault, seen by real clients within one request of being set."""
from __future__ import annotations

import datetime as dt
import socket
import time

import httpx
import pytest
import zeep.exceptions
from lxml import etree

from sim_helpers import camera, pick, run, snapshot, soap_time


def _connect(d: dict, timeout: float = 0.7) -> str:
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect((d["ip"], d["onvif_port"]))
        return "up"
    except socket.timeout:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    finally:
        s.close()


def _device_info(d: dict, password: str | None = None):
    async def go():
        cam = camera(d, password)
        try:
            dm = await cam.create_devicemgmt_service()
            return await dm.GetDeviceInformation()
        finally:
            await cam.close()
    return run(go(), timeout=15)


def _clock_offset(d: dict) -> float:
    r = soap_time(d)
    root = etree.fromstring(r.content)
    ns = {"tt": "http://www.onvif.org/ver10/schema"}
    u = root.find(".//tt:UTCDateTime", ns)
    g = lambda p: int(u.findtext(p, namespaces=ns))   # noqa: E731
    t = dt.datetime(g("tt:Date/tt:Year"), g("tt:Date/tt:Month"), g("tt:Date/tt:Day"), g("tt:Time/tt:Hour"),
                    g("tt:Time/tt:Minute"), g("tt:Time/tt:Second"), tzinfo=dt.timezone.utc)
    return (t - dt.datetime.now(dt.timezone.utc)).total_seconds()


def test_offline_drops_without_refusing(fleet):
    d = pick(fleet, "camera")
    assert _connect(d) == "up"
    fleet.set_faults(d["serial"], ["offline"])
    assert _connect(d) == "timeout"
    with pytest.raises(httpx.TimeoutException):
        soap_time(d, timeout=0.7)
    fleet.clear_faults(d["serial"])
    assert soap_time(d).status_code == 200


def test_refused(fleet):
    d = pick(fleet, "camera")
    fleet.set_faults(d["serial"], ["refused"])
    assert _connect(d) == "refused"
    with pytest.raises(httpx.ConnectError):
        soap_time(d)
    fleet.clear_faults(d["serial"])
    assert _connect(d) == "up"


def test_switch_down_takes_its_cameras_down(fleet):
    sw = pick(fleet, "switch")
    cams = [fleet.device(s) for s in sw["downstream"][:3]]
    fleet.set_faults(sw["serial"], ["offline"])
    assert all(_connect(c, 0.4) == "timeout" for c in cams)
    assert fleet.device(cams[0]["serial"])["reach"] == "drop"
    assert _connect(pick(fleet, "nvr"), 0.4) == "timeout"   # the NVR is on the switch too
    fleet.clear_faults(sw["serial"])
    assert all(_connect(c) == "up" for c in cams)
    truth = [t for t in fleet.truth() if t["serial"] == cams[0]["serial"] and t.get("cause")]
    assert truth and truth[-1]["cause"] == f"upstream:{sw['serial']}" and truth[-1]["end"] is not None


def test_a_dead_nvr_takes_only_the_cameras_on_its_own_poe_ports(tmp_path):
    """The power path: cameras fed by an NVR's PoE ports go down with it; in a community
    whose cameras hang on the switch, a dead NVR leaves them reachable (it only records).
    Three communities: the third has its cameras on the NVR's own PoE ports."""
    from sim_helpers import extra_fleet_args

    from simulator.testing import FleetProcess

    with FleetProcess(devices=45, seed=7, communities=3, tmp_dir=tmp_path, truth=False,
                      **extra_fleet_args("topology")) as fleet:
        _dead_nvr_checks(fleet)


def _dead_nvr_checks(fleet) -> None:
    nvrs = [fleet.device(d["serial"]) for d in fleet.devices() if d["kind"] == "nvr"]
    feeding = next(n for n in nvrs if n["downstream"])
    beside = next(n for n in nvrs if not n["downstream"])
    fed = [fleet.device(s) for s in feeding["downstream"][:2]]
    recorded_only = [d for d in fleet.devices()
                     if d["kind"] == "camera" and d["community_index"] == beside["community_index"]][:2]
    try:
        fleet.set_faults(feeding["serial"], ["offline"])
        fleet.set_faults(beside["serial"], ["offline"])
        assert all(_connect(c, 0.4) == "timeout" for c in fed)
        assert all(_connect(c) == "up" for c in recorded_only)
    finally:
        fleet.clear_faults(feeding["serial"])
        fleet.clear_faults(beside["serial"])
    assert all(_connect(c) == "up" for c in fed)


def test_flap_alternates(fleet):
    d = pick(fleet, "camera")
    fleet.set_faults(d["serial"], ["flap"], flap_period_s=0.5)
    seen = set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(seen) < 2:
        seen.add(_connect(d, 0.2))
        time.sleep(0.1)
    assert seen == {"up", "timeout"}
    fleet.clear_faults(d["serial"])
    phases = [t for t in fleet.truth() if t["serial"] == d["serial"] and t.get("cause") == "flap"]
    assert phases and all(t["end"] is not None and t["end"] > t["start"] for t in phases)


def test_slow_answers_after_the_delay(fleet):
    d = pick(fleet, "camera")
    fleet.set_faults(d["serial"], ["slow"], slow_s=1.0)
    t0 = time.monotonic()
    assert soap_time(d).status_code == 200
    assert time.monotonic() - t0 >= 1.0


@pytest.mark.parametrize("fault", ["malformed_xml", "non_utf8_xml"])
def test_broken_xml_is_rejected_by_the_client(fleet, fault):
    d = pick(fleet, "camera")
    fleet.set_faults(d["serial"], [fault])
    body = soap_time(d).content
    if fault == "non_utf8_xml":
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
    # A strict parser refuses it (zeep itself parses in lxml's recover mode and reads
    # through, so probes must check strictly: see docs/ARCHITECTURE.md).
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(body)
    fleet.clear_faults(d["serial"])
    etree.fromstring(soap_time(d).content)
    assert _device_info(d).SerialNumber == d["serial"]


def test_truncated_http(fleet):
    d = pick(fleet, "camera")
    fleet.set_faults(d["serial"], ["truncated_http"])
    with pytest.raises(httpx.RemoteProtocolError):
        soap_time(d)
    with pytest.raises(httpx.RemoteProtocolError):
        snapshot(d)


def test_bad_credentials(fleet):
    d = pick(fleet, "camera")
    assert _device_info(d).SerialNumber == d["serial"]
    fleet.set_faults(d["serial"], ["bad_credentials"])
    with pytest.raises(zeep.exceptions.Fault):
        _device_info(d)
    assert snapshot(d).status_code == 401
    assert soap_time(d).status_code == 200          # still pre-auth


def test_clock_drift_and_wrong_timezone(fleet):
    d = pick(fleet, "camera")
    assert abs(_clock_offset(d)) <= 2
    fleet.set_faults(d["serial"], ["clock_drift"], clock_offset_s=3600)
    assert abs(_clock_offset(d) - 3600) <= 2
    fleet.clear_faults(d["serial"])
    fleet.set_faults(d["serial"], ["wrong_timezone"])
    assert abs(_clock_offset(d) - 8 * 3600) <= 2
    assert fleet.device(d["serial"])["clock_offset_s"] == pytest.approx(8 * 3600, abs=1)


def test_reboot_closes_ports_then_uptime_restarts(fleet):
    d = pick(fleet, "camera")
    assert fleet.device(d["serial"])["uptime_s"] > 1
    fleet.set_faults(d["serial"], ["reboot"], reboot_s=1.0)
    assert _connect(d) == "refused"
    deadline = time.monotonic() + 5
    while _connect(d) != "up" and time.monotonic() < deadline:
        time.sleep(0.05)
    after = fleet.device(d["serial"])
    assert after["faults"] == [] and after["uptime_s"] < 1.0
    rec = [t for t in fleet.truth() if t["serial"] == d["serial"] and t["fault"] == "reboot"]
    assert rec and rec[-1]["end"] is not None


def test_recording_loss_stops_the_recording(fleet):
    nvr = pick(fleet, "nvr")

    async def summary():
        cam = camera(nvr)
        try:
            await cam.update_xaddrs()
            search = await cam.create_search_service()
            return await search.GetRecordingSummary()
        finally:
            await cam.close()

    fleet.set_faults(nvr["serial"], ["recording_loss"], started_ago_s=5)  # stopped 5 s ago
    s = run(summary())
    assert (dt.datetime.now(dt.timezone.utc) - s.DataUntil).total_seconds() >= 1


def test_truth_records_fault_intervals(fleet):
    d = pick(fleet, "camera")
    fleet.set_faults(d["serial"], ["blur"])
    open_ = [t for t in fleet.truth() if t["serial"] == d["serial"] and t["fault"] == "blur"]
    assert open_[-1]["end"] is None
    fleet.clear_faults(d["serial"])
    closed = [t for t in fleet.truth() if t["serial"] == d["serial"] and t["fault"] == "blur"]
    assert closed[-1]["end"] >= closed[-1]["start"]


def test_control_api_rejects_bad_input(fleet):
    d = pick(fleet, "camera")
    url = f"{fleet.control_url}/devices/{d['serial']}/faults"
    assert httpx.post(url, json={"faults": ["melted"]}).status_code == 400
    assert httpx.post(url, json={"faults": ["blur"], "bogus": 1}).status_code == 400
    assert httpx.post(url, content=b"not json").status_code == 400
    assert httpx.post(f"{fleet.control_url}/devices/NOPE/faults", json={"faults": []}).status_code == 404
    assert fleet.device(d["serial"])["faults"] == []


def test_rapid_fault_toggling_leaves_a_working_device(fleet):
    d = pick(fleet, "camera")
    for i in range(15):
        fleet.set_faults(d["serial"], ["offline" if i % 2 else "refused"])
        fleet.clear_faults(d["serial"])
    assert _connect(d) == "up"
    assert soap_time(d).status_code == 200


def test_control_api_lists_every_fault_name_it_accepts(fleet):
    listed = httpx.get(f"{fleet.control_url}/faults").json()
    names = [n for group in listed["faults"].values() for n in group]
    assert "offline" in listed["faults"]["reach"] and "blur" in listed["faults"]["picture"]
    assert listed["params"]["clock_offset_s"] == 600.0
    d = pick(fleet, "camera")
    url = f"{fleet.control_url}/devices/{d['serial']}/faults"
    for name in ("offline", "clock_drift", "blur", "recording_loss"):  # a listed name is accepted
        assert name in names
        assert httpx.post(url, json={"faults": [name]}).status_code == 200
        fleet.clear_faults(d["serial"])
