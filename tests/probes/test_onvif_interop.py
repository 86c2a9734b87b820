"""The ONVIF probe against firmware quirks of real cameras (simulator quirks, real sockets):
each quirk leads either to a full answer or to a typed error, never an exception.

Addresses 127.80.(20+slot).x, control ports 19650 + slot (this area's interop range)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from probes.config import TierSpec
from probes.onvif_tz import utc_offset
from probes.runner import probe_one
from simulator.testing import FleetProcess
from probe_helpers import run, sim_target
from tests.simulator.sim_helpers import pick, slot

ONVIF = TierSpec("t", ["onvif"], timeouts={"onvif": 5.0}, retries={"onvif": 0})
FRAME = TierSpec("f", ["onvif", "frame"], timeouts={"onvif": 5.0, "frame": 8.0},
                 retries={"onvif": 0, "frame": 0}, rtsp_fallback=False, decode_frame=False)


@pytest.fixture(scope="module")
def ifleet(tmp_path_factory):
    s = slot()
    with FleetProcess(devices=12, seed=5, base_address=f"127.80.{20 + s}.1",
                      control_port=19650 + s, onvif_port=19690, snmp_port=19691,
                      tmp_dir=tmp_path_factory.mktemp("ifleet")) as f:
        yield f


@pytest.fixture(scope="module")
def cam(ifleet):
    return pick(ifleet, "camera")


@pytest.fixture
def quirk(ifleet):
    touched = []

    def set_(d: dict, *names: str, **params: float) -> dict:
        touched.append(d["serial"])
        ifleet.set_faults(d["serial"], list(names), **params)
        return d
    yield set_
    for serial in touched:
        ifleet.clear_faults(serial)


def probe(d: dict, spec: TierSpec = ONVIF, password: str | None = None):
    t = sim_target(d)
    if password is not None:
        t.password = password
    return run(probe_one(t, spec), 20)


def assert_full(res, d):
    o = res.onvif
    assert o.ok, o.error
    assert o.serial_number == d["serial"]
    assert o.profiles and o.profiles[0].width and o.snapshot_uri
    assert abs(o.clock_offset_s) < 2.0


# 1. HTTP Digest instead of WS-Security
def test_http_digest_soap(cam, quirk):
    quirk(cam, "soap_http_digest")
    res = probe(cam, FRAME)
    assert_full(res, cam)
    assert res.frame.ok, res.frame.error


def test_http_digest_even_for_the_clock(cam, quirk):
    # The unauthenticated GetSystemDateAndTime gets a 401: the probe retries it with the
    # account (HTTP Digest), then everything else authenticates on the first try.
    quirk(cam, "soap_http_digest_all", "clock_drift", clock_offset_s=120)
    o = probe(cam).onvif
    assert o.ok, o.error
    assert abs(o.clock_offset_s - 120) < 2.0 and o.profiles


def test_http_digest_soap_wrong_password_is_auth(cam, quirk):
    quirk(cam, "soap_http_digest")
    res = probe(cam, password="wrong")
    assert not res.onvif.ok and res.onvif.error.kind == "auth"
    assert res.onvif.clock_offset_s is not None        # the clock needs no auth


# 2. LocalDateTime only, POSIX or IANA zone
@pytest.mark.parametrize("name, tz", [("local_time_only", "CST-8"),
                                      ("local_time_iana", "Asia/Shanghai")])
@pytest.mark.parametrize("drift", [0.0, 900.0])
def test_local_time_only(cam, quirk, name, tz, drift):
    quirk(cam, name, "clock_drift", clock_offset_s=drift) if drift else quirk(cam, name)
    o = probe(cam).onvif
    assert o.ok, o.error
    assert o.timezone == tz
    assert abs(o.clock_offset_s - drift) < 2.0, o.clock_offset_s
    assert not any("UTCDateTime" in w.message for w in o.warnings)


@pytest.mark.parametrize("tz, dst, hours", [
    ("CST-8", False, 8), ("CST-8:00:00", False, 8), ("IST-5:30", False, 5.5),
    ("EST5EDT,M3.2.0,M11.1.0", False, -5), ("EST5EDT,M3.2.0,M11.1.0", True, -4),
    ("<+0330>-3:30", False, 3.5), ("UTC0", False, 0)])
def test_posix_zones(tz, dst, hours):
    assert utc_offset(tz, datetime(2026, 1, 15, 12), dst) == timedelta(hours=hours)


def test_iana_zone_with_dst_and_garbage():
    assert utc_offset("Europe/Berlin", datetime(2026, 7, 1, 12)) == timedelta(hours=2)
    assert utc_offset("Europe/Berlin", datetime(2026, 1, 1, 12)) == timedelta(hours=1)
    for bad in ("", "Mars/Olympus", "../../etc/passwd", "CST-99", "x" * 500, None):
        assert utc_offset(bad, datetime(2026, 1, 1)) is None


# 3. Media2 only
def test_media2_only(cam, quirk):
    quirk(cam, "media2_only")
    res = probe(cam, FRAME)
    assert_full(res, cam)
    o = res.onvif
    assert "media2" in o.service_addresses and "media" not in o.service_addresses
    assert o.profiles[0].encoding == "H265" and o.profiles[0].fps == 25
    assert (o.profiles[0].width, o.profiles[0].height) in ((1920, 1080), (2688, 1520))
    assert o.stream_uri.startswith("rtsp://")
    assert res.frame.ok, res.frame.error


def test_media2_only_with_http_digest_and_drift(cam, quirk):
    quirk(cam, "media2_only", "soap_http_digest", "clock_drift", clock_offset_s=-3600)
    assert_full_drift = probe(cam).onvif
    assert assert_full_drift.ok and assert_full_drift.profiles[0].encoding == "H265"


def test_media10_listed_but_broken_falls_back_to_media2(cam, quirk):
    quirk(cam, "media10_broken")
    o = probe(cam).onvif
    assert o.ok and o.profiles and o.profiles[0].encoding == "H265" and o.snapshot_uri
    assert any("used Media2" in w.message for w in o.warnings)


def test_ver10_media_preferred_when_both_work(cam):
    o = probe(cam).onvif
    assert o.ok and o.profiles[0].encoding == "H264"


# 4. GetCapabilities or GetServices missing
@pytest.mark.parametrize("name", ["no_get_services", "no_get_capabilities"])
def test_one_discovery_call_missing(cam, quirk, name):
    quirk(cam, name)
    res = probe(cam)
    assert_full(res, cam)
    assert res.onvif.service_addresses["media"].endswith("/onvif/media_service")


def test_both_discovery_calls_missing_is_a_warning(cam, quirk):
    quirk(cam, "no_get_services", "no_get_capabilities")
    o = probe(cam).onvif
    assert o.ok and o.serial_number == cam["serial"] and not o.profiles
    assert any(w.kind == "unsupported" and "GetCapabilities" in w.message for w in o.warnings)


# 5. XAddrs naming another host
@pytest.mark.parametrize("extra", [(), ("no_get_services",), ("media2_only",)])
def test_foreign_xaddr_keeps_our_host(cam, quirk, extra):
    quirk(cam, "foreign_xaddr", *extra)
    res = probe(cam, FRAME)
    assert_full(res, cam)
    o = res.onvif
    assert o.service_addresses and all(
        a.startswith(f"http://{cam['ip']}:{cam['onvif_port']}/onvif/nat/")
        for a in o.service_addresses.values())
    assert res.frame.ok, res.frame.error
    assert res.frame.uri.startswith(f"http://{cam['ip']}:")


# 6. Fault shapes
@pytest.mark.parametrize("name, kind", [("soap11_faults", "auth"), ("plain_http_errors", "auth"),
                                        (None, "auth")])
def test_wrong_password_in_every_fault_shape(cam, quirk, name, kind):
    if name:
        quirk(cam, name)
    o = probe(cam, password="wrong").onvif
    assert not o.ok and o.error.kind == kind, o.error


def test_soap11_envelopes_are_read(cam, quirk):
    quirk(cam, "soap11_envelopes")
    assert_full(probe(cam), cam)
    o = probe(cam, password="wrong").onvif
    assert not o.ok and o.error.kind == "auth"


def test_soap11_envelopes_on_an_nvr_with_recordings(ifleet, quirk):
    nvr = pick(ifleet, "nvr")
    quirk(nvr, "soap11_envelopes")
    o = probe(nvr).onvif
    assert o.ok and o.recordings is not None and o.recordings.count >= 1, o


def test_soap11_fault_for_unsupported(cam, quirk):
    quirk(cam, "soap11_faults", "no_get_services")
    res = probe(cam)
    assert_full(res, cam)              # GetServices' SOAP 1.1 fault -> GetCapabilities


def test_plain_400_is_a_fault_not_malformed(cam, quirk):
    quirk(cam, "plain_http_errors", "no_get_services", "no_get_capabilities")
    o = probe(cam).onvif
    assert o.ok and o.warnings and o.warnings[0].kind == "fault", o.warnings


def test_html_login_page_is_auth(cam, quirk):
    quirk(cam, "html_login")
    o = probe(cam).onvif
    assert not o.ok and o.error.kind == "auth" and "HTML login page" in o.error.message


# 7. Snapshots
@pytest.mark.parametrize("name", ["snapshot_basic", "snapshot_uri_creds", "snapshot_wrong_ctype"])
def test_snapshot_quirks(cam, quirk, name):
    quirk(cam, name)
    res = probe(cam, FRAME)
    assert res.frame.ok, res.frame.error
    assert res.frame.width and res.frame.size_bytes > 1000
    assert cam["password"] not in (res.onvif.snapshot_uri or "")
    assert cam["password"] not in res.frame.uri


def test_snapshot_basic_wrong_password_is_auth(cam, quirk):
    quirk(cam, "snapshot_basic")
    res = probe(cam, FRAME, password="wrong")
    assert res.onvif.error.kind == "auth"


def test_strip_creds_drops_userinfo_and_account_parameters():
    from probes.onvif import _strip_creds
    assert _strip_creds("http://admin:s3cret@10.0.0.5:8080/snap.cgi?chn=1&user=admin&PWD=s3cret") \
        == "http://10.0.0.5:8080/snap.cgi?chn=1"
    assert _strip_creds("http://h/onvif/snapshot?profile=P1") == "http://h/onvif/snapshot?profile=P1"
    assert _strip_creds("http://[bad") is None and _strip_creds(None) is None


@pytest.mark.parametrize("algorithm, expected", [
    # RFC 7616 §3.9.1's worked example (Mufasa / "Circle of Life").
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")])
def test_digest_response_matches_rfc7616(algorithm, expected):
    from probes.onvif_http import HttpAuth
    auth = HttpAuth()
    url = "http://www.example.org/dir/index.html"
    auth.register(url, "Mufasa", "Circle of Life")
    assert auth.learn(url, 'Digest realm="http-auth@example.org", qop="auth, auth-int", '
                      f'algorithm={algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
                      'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
    header = auth.header(url, "GET", cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
    assert f'response="{expected}"' in header and "nc=00000001" in header


def test_digest_challenge_garbage_is_not_answered():
    from probes.onvif_http import HttpAuth
    auth = HttpAuth()
    url = "http://127.0.0.9:80/onvif/device_service"
    assert not auth.learn(url, 'Digest realm="x", nonce="n"')          # no credentials held
    auth.register(url, "admin", "pw")
    assert not auth.learn(url, 'Digest realm="x", nonce="n", algorithm=SHA-512-256-sess')
    assert not auth.learn(url, "Negotiate abc") and not auth.learn(url, "")
    assert auth.header(url) is None


def test_ptz_on_a_natted_digest_only_dome(ifleet, quirk):
    dome = next((d for d in ifleet.devices() if d["kind"] == "camera" and d["ptz"]), None)
    if dome is None:
        pytest.skip("no PTZ dome in this fleet")
    quirk(dome, "foreign_xaddr", "soap_http_digest")
    spec = TierSpec("ptz", ["onvif", "ptz"], timeouts={"onvif": 5, "ptz": 15, "frame": 5},
                    retries={"onvif": 0})
    res = run(probe_one(sim_target(dome), spec), 30)
    assert res.onvif.ok, res.onvif.error
    assert res.onvif.service_addresses["ptz"].startswith(f"http://{dome['ip']}:")
    assert res.ptz.ok, res.ptz.error
