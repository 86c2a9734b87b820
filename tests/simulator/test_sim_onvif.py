"""ONVIF device, media, recording and search services, through onvif-zeep-async."""
from __future__ import annotations

import datetime as dt
import time

import pytest
import zeep.exceptions

from sim_helpers import camera, pick, run


def test_device_service_answers_onvif_zeep_async(fleet):
    d = pick(fleet, "camera", role="entrance")

    async def go():
        cam = camera(d)
        try:
            await cam.update_xaddrs()
            dm = await cam.create_devicemgmt_service()
            info = await dm.GetDeviceInformation()
            caps = await dm.GetCapabilities({"Category": "All"})
            services = await dm.GetServices({"IncludeCapability": False})
            scopes = await dm.GetScopes()
            nics = await dm.GetNetworkInterfaces()
            ntp = await dm.GetNTP()
            return info, caps, services, scopes, nics, ntp
        finally:
            await cam.close()

    info, caps, services, scopes, nics, ntp = run(go())
    assert info.SerialNumber == d["serial"]
    assert info.Manufacturer == d["vendor"] and info.Model == d["model"]
    assert caps.Media.XAddr == f"http://{d['ip']}:{d['onvif_port']}/onvif/media_service"
    assert {s.Namespace for s in services} == {"http://www.onvif.org/ver10/device/wsdl",
                                              "http://www.onvif.org/ver10/media/wsdl"}
    assert any("Profile/Streaming" in s.ScopeItem for s in scopes)
    assert nics[0].Info.HwAddress == d["mac"]
    assert nics[0].IPv4.Config.Manual[0].Address == d["ip"]
    assert ntp.NTPManual[0].IPv4Address == "127.0.0.1"


def test_system_date_and_time_needs_no_auth_and_is_utc(fleet):
    d = pick(fleet, "camera")

    async def go():
        cam = camera(d, password="certainly-wrong")
        try:
            dm = await cam.create_devicemgmt_service()
            return await dm.authless_GetSystemDateAndTime()
        finally:
            await cam.close()

    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    sdt = run(go())
    u = sdt.UTCDateTime
    got = dt.datetime(u.Date.Year, u.Date.Month, u.Date.Day, u.Time.Hour, u.Time.Minute,
                      u.Time.Second, tzinfo=dt.timezone.utc)
    assert abs((got - before).total_seconds()) <= 2
    assert sdt.TimeZone.TZ.startswith("CST-8")


def test_wrong_password_is_a_soap_fault_not_a_hang(fleet):
    d = pick(fleet, "camera")

    async def go():
        cam = camera(d, password="wrong-password")
        try:
            dm = await cam.create_devicemgmt_service()
            await dm.GetDeviceInformation()
        finally:
            await cam.close()

    t0 = time.monotonic()
    with pytest.raises(zeep.exceptions.Fault) as err:
        run(go(), timeout=10)
    assert "not Authorized" in str(err.value.message)
    assert time.monotonic() - t0 < 5


def test_media_profiles_and_uris(fleet):
    d = pick(fleet, "camera")

    async def go():
        cam = camera(d)
        try:
            await cam.update_xaddrs()
            media = await cam.create_media_service()
            profiles = await media.GetProfiles()
            snap = await cam.get_snapshot_uri(profiles[0].token)
            stream = await media.GetStreamUri({"StreamSetup": {"Stream": "RTP-Unicast",
                                                               "Transport": {"Protocol": "RTSP"}},
                                               "ProfileToken": profiles[1].token})
            jpeg = await cam.get_snapshot(profiles[0].token)
            return profiles, snap, stream, jpeg
        finally:
            await cam.close()

    profiles, snap, stream, jpeg = run(go())
    main, sub = profiles
    enc = main.VideoEncoderConfiguration
    assert enc.Encoding == "H264" and enc.Resolution.Width >= 1920 and enc.RateControl.FrameRateLimit == 25
    assert sub.VideoEncoderConfiguration.Resolution.Width == 640
    assert snap.startswith(f"http://{d['ip']}:{d['onvif_port']}/onvif/snapshot")
    assert stream.Uri.startswith(f"rtsp://{d['ip']}:554/")
    assert jpeg[:3] == b"\xff\xd8\xff"      # a JPEG, fetched by the library with Digest auth


def test_nvr_profile_g_recording_and_search(fleet):
    nvr = pick(fleet, "nvr")
    cams = [x for x in fleet.devices() if x["kind"] == "camera" and x["community_index"] == nvr["community_index"]]

    async def go():
        cam = camera(nvr)
        try:
            await cam.update_xaddrs()
            search = await cam.create_search_service()
            recording = await cam.create_recording_service()
            summary = await search.GetRecordingSummary()
            items = await recording.GetRecordings()
            token = await search.FindRecordings({"Scope": {}, "KeepAliveTime": "PT10S"})
            results = await search.GetRecordingSearchResults({"SearchToken": token})
            return summary, items, results
        finally:
            await cam.close()

    summary, items, results = run(go())
    now = dt.datetime.now(dt.timezone.utc)
    assert summary.NumberRecordings == len(cams) == len(items)
    assert (now - summary.DataUntil).total_seconds() < 5
    assert (now - summary.DataFrom).days >= 29
    assert {i.Configuration.Source.Name for i in items} == {c["serial"] for c in cams}
    assert results.SearchState == "Completed"
    assert all(r.RecordingStatus == "Recording" for r in results.RecordingInformation)


def test_camera_has_no_recording_service(fleet):
    d = pick(fleet, "camera")

    async def go():
        cam = camera(d)
        try:
            await cam.update_xaddrs()
            return cam.xaddrs
        finally:
            await cam.close()

    xaddrs = run(go())
    assert "http://www.onvif.org/ver10/search/wsdl" not in xaddrs
    assert "http://www.onvif.org/ver10/media/wsdl" in xaddrs


def test_switch_has_device_service_only(fleet):
    from onvif.exceptions import ONVIFError
    d = pick(fleet, "switch")

    async def go():
        cam = camera(d)
        try:
            await cam.update_xaddrs()
            try:
                await cam.create_media_service()
            except ONVIFError as exc:
                return cam.xaddrs, exc
            return cam.xaddrs, None
        finally:
            await cam.close()

    xaddrs, err = run(go())
    assert list(xaddrs) == ["http://www.onvif.org/ver10/device/wsdl"]
    assert err is not None and "media" in str(err)
