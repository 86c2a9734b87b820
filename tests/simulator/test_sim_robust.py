"""Bad input never takes the fleet down; the wildcard SNMP transport answers from the
right address."""
from __future__ import annotations

import os
import socket

from sim_helpers import fleet_args, pick, run, soap_time
from simulator.testing import FleetProcess
from test_sim_snmp import SYS_NAME, _get


def test_garbage_http_and_snmp_do_not_hurt(fleet):
    d = pick(fleet, "camera")
    for payload in (b"\x00\xff" * 100 + b"\r\n\r\n", b"GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                    b"POST /onvif/device_service HTTP/1.1\r\nContent-Length: 9\r\n\r\n<not xml",
                    b"X" * 20000):
        s = socket.create_connection((d["ip"], d["onvif_port"]), timeout=3)
        s.sendall(payload)
        s.settimeout(3)
        try:
            s.recv(1000)
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(20):
        u.sendto(os.urandom(64), (d["ip"], d["snmp_port"]))
    u.sendto(b"\x30\x03\x02\x01", (d["ip"], d["snmp_port"]))
    u.close()
    assert soap_time(d).status_code == 200
    err, status, vbs = run(_get(d, SYS_NAME))
    assert not err and str(vbs[0][1]) == d["serial"]
    # a malformed SOAP body gets a SOAP fault, not a dropped connection
    import httpx
    r = httpx.post(f"http://{d['ip']}:{d['onvif_port']}/onvif/device_service", content=b"<s:Envelope",
                   headers={"Content-Type": "application/soap+xml"}, timeout=5)
    assert r.status_code == 400 and b"Fault" in r.content


def test_wildcard_snmp_answers_from_each_device_address(tmp_path):
    with FleetProcess(devices=8, seed=4, communities=1, tmp_dir=tmp_path, **fleet_args("wildcard"),
                      extra_args=["--snmp-bind", "wildcard"]) as f:
        devs = f.devices()
        for d in devs[:4]:
            err, status, vbs = run(_get(d, SYS_NAME))
            assert not err and str(vbs[0][1]) == d["serial"]
            # a plain socket sees the reply come from the device's own address
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(2)
            s.connect((d["ip"], d["snmp_port"]))   # connected: only that source is accepted
            s.send(_v2c_get(d["snmp_community"]))
            assert len(s.recv(2000)) > 20
            s.close()
        sw = next(d for d in devs if d["kind"] == "switch")
        err, _s, vbs = run(_get(sw, SYS_NAME, v3=True))
        assert not err and str(vbs[0][1]) == sw["serial"]
        f.set_faults(sw["serial"], ["offline"])
        err, _s, _v = run(_get(sw, SYS_NAME, timeout=0.5))
        assert err is not None


def _v2c_get(community: str) -> bytes:
    """A v2c GET sysUpTime.0 encoded with pysnmp's message API."""
    from pyasn1.codec.ber import encoder
    from pysnmp.proto import api
    p = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = p.GetRequestPDU()
    p.apiPDU.set_defaults(pdu)
    p.apiPDU.set_varbinds(pdu, [((1, 3, 6, 1, 2, 1, 1, 3, 0), p.Null(""))])
    msg = p.Message()
    p.apiMessage.set_defaults(msg)
    p.apiMessage.set_community(msg, community)
    p.apiMessage.set_pdu(msg, pdu)
    return encoder.encode(msg)
