"""Fleet generation, the inventory file, latency distributions and scenarios."""
from __future__ import annotations

import csv
import socket
import statistics
import time
from collections import Counter

import pytest

from simulator.fleet import ROLES, generate
from simulator.inventory import COLUMNS
from simulator.latency import Latency, parse_dist
from simulator.scenario import ScenarioError, build_timeline
from sim_helpers import fleet_args
from simulator.testing import FleetProcess


def test_generation_is_reproducible_and_realistic():
    a = generate(200, seed=5, communities=12)
    b = generate(200, seed=5, communities=12)
    assert [(s.serial, s.ip, s.password) for s in a] == [(s.serial, s.ip, s.password) for s in b]
    assert [s.password for s in generate(200, seed=6, communities=12)] != [s.password for s in a]
    assert len({s.serial for s in a}) == len({s.ip for s in a}) == 200
    assert all(s.ip.startswith("127.") and not s.ip.endswith((".0", ".255")) for s in a)
    by_comm: dict[int, list] = {}
    for s in a:
        by_comm.setdefault(s.community_index, []).append(s)
    assert len(by_comm) == 12
    for devs in by_comm.values():
        kinds = Counter(s.kind for s in devs)
        assert kinds["switch"] == 1 and kinds["nvr"] == 1
        sw = next(s for s in devs if s.kind == "switch")
        nvr = next(s for s in devs if s.kind == "nvr")
        nvr_poe = devs[0].community_index % 3 == 2
        # The NVR sits beside the cameras on the switch; every camera is recorded by it.
        assert nvr.upstream == sw.serial and sw.downstream[nvr.switch_port - 1] == nvr.serial
        assert sw.upstream == ""
        for s in devs:
            if s.kind == "camera" and nvr_poe:
                assert s.upstream == nvr.serial and s.switch_port is None and s.serial in nvr.downstream
            elif s.kind in ("camera", "speaker"):
                assert s.upstream == sw.serial and sw.downstream[s.switch_port - 1] == s.serial
            if s.kind == "camera":
                assert s.recorded_by == nvr.serial
        assert sw.ports > len(sw.downstream)
        for cam in (s for s in devs if s.role == "fire_lane"):
            spk = next(x for x in devs if x.serial == cam.paired_with)
            assert spk.kind == "speaker" and spk.paired_with == cam.serial
    assert {s.role for s in a if s.kind == "camera"} <= set(ROLES)
    assert len({s.contract for s in a}) >= 2
    assert {s.community_type for s in a} == {"open", "closed", "single_building"}
    assert any(s.snmp_v3 for s in a if s.kind == "camera") and all(s.snmp_v3 for s in a if s.kind == "switch")


def test_inventory_file_has_the_import_columns(fleet):
    with open(fleet.inventory_path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert tuple(reader.fieldnames) == COLUMNS
    assert COLUMNS[:19] == ("community", "district", "community_type", "name", "kind", "role", "vendor",
                            "model", "serial", "mac", "ip", "onvif_port", "snmp_port", "snmp_community",
                            "username", "password", "upstream", "contract", "installed_on")
    assert len(rows) == 16
    devs = {d["serial"]: d for d in fleet.devices()}
    for r in rows:
        d = devs[r["serial"]]
        assert (r["ip"], int(r["onvif_port"]), r["password"]) == (d["ip"], d["onvif_port"], d["password"])
        assert r["upstream"] == (d["upstream"] or "")
        assert r["installed_on"][:2] == "20" and r["contract"].startswith("C-")


def test_latency_distributions():
    assert parse_dist("5ms").sample(None) == pytest.approx(0.005)
    lat = Latency("onvif=lognormal:80ms,snapshot=uniform:100ms-200ms,snmp=exp:10ms", seed=1)
    xs = [lat.sample("onvif") for _ in range(4000)]
    assert statistics.median(xs) == pytest.approx(0.080, rel=0.1)
    ys = [lat.sample("snapshot") for _ in range(1000)]
    assert 0.1 <= min(ys) and max(ys) <= 0.2
    assert statistics.mean(lat.sample("snmp") for _ in range(4000)) == pytest.approx(0.010, rel=0.15)
    assert Latency(None).sample("onvif") == 0.0
    with pytest.raises(ValueError):
        Latency("ftp=5ms")


def test_scenario_timeline_is_seeded_and_validated():
    specs = generate(60, seed=3, communities=5)
    data = {"events": [{"at": 1, "select": {"kind": "switch", "count": 2}, "faults": ["offline"], "for": 10}],
            "random": [{"faults": ["blur", "frozen"], "select": {"kind": "camera"}, "rate_per_hour": 3600,
                        "duration_s": [1, 5], "until": 60}]}
    t1, t2 = build_timeline(data, specs, 9), build_timeline(data, specs, 9)
    assert [(a.at, a.serial, a.faults) for a in t1] == [(a.at, a.serial, a.faults) for a in t2]
    assert [(a.at, a.serial) for a in build_timeline(data, specs, 10)] != [(a.at, a.serial) for a in t1]
    sets = [a for a in t1 if a.set]
    assert 2 + 30 <= len(sets) <= 2 + 100          # ~60 random arrivals expected
    assert all(any(c.serial == s.serial and not c.set and c.at > s.at for c in t1) for s in sets)
    # random faults never overlap on one device
    opened: dict[str, float] = {}
    for a in sorted(t1):
        if a.faults[0] in ("blur", "frozen"):
            if a.set:
                assert a.serial not in opened, a
                opened[a.serial] = a.at
            else:
                opened.pop(a.serial)
    with pytest.raises(ScenarioError):
        build_timeline({"events": [{"at": 0, "device": "NOPE", "faults": ["offline"]}]}, specs, 1)
    with pytest.raises(ScenarioError):
        build_timeline({"events": [{"at": 0, "select": {"kind": "camera"}, "faults": ["melted"]}]}, specs, 1)


def _connect(ip: str, port: int) -> str:
    s = socket.socket()
    s.settimeout(0.3)
    try:
        s.connect((ip, port))
        return "up"
    except OSError:
        return "down"
    finally:
        s.close()


def test_scenario_file_drives_faults_and_truth(tmp_path):
    scen = tmp_path / "scenario.yaml"
    scen.write_text("events:\n  - at: 0.3\n    select: {kind: switch}\n    faults: [offline]\n    for: 1.0\n",
                    encoding="utf-8")
    with FleetProcess(devices=6, seed=2, communities=1, tmp_dir=tmp_path, **fleet_args("scenario"),
                      extra_args=["--scenario", str(scen)]) as f:
        sw = next(d for d in f.devices() if d["kind"] == "switch")
        cam = f.device(sw["downstream"][0])
        states = []
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            states.append(_connect(cam["ip"], cam["onvif_port"]))
            if "down" in states and states[-1] == "up":
                break
            time.sleep(0.05)
        assert "down" in states and states[-1] == "up"
        truth = f.truth()
    sw_rec = [t for t in truth if t["serial"] == sw["serial"]]
    assert sw_rec and sw_rec[0]["fault"] == "offline" and sw_rec[0]["end"] is not None
    assert any(t["serial"] == cam["serial"] and t.get("cause") == f"upstream:{sw['serial']}" for t in truth)


def test_bad_scenario_fails_fast(tmp_path):
    scen = tmp_path / "bad.yaml"
    scen.write_text("events:\n  - at: 0\n    device: NOPE\n    faults: [offline]\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="selects no device"):
        FleetProcess(devices=3, seed=1, tmp_dir=tmp_path, **fleet_args("bad_scenario"),
                     extra_args=["--scenario", str(scen)]).start()


def test_platform_importer_accepts_the_inventory(fleet, runner):
    """Interop with issue 3's `flask inventory import` (contracts created from the file)."""
    result = runner.invoke(args=["inventory", "import", "--create-contracts", str(fleet.inventory_path)])
    assert result.exit_code == 0, result.output
    assert "created 16" in result.output


def test_latency_flag_delays_answers(tmp_path):
    from sim_helpers import run, soap_time
    from test_sim_snmp import SYS_NAME, _get
    with FleetProcess(devices=3, seed=2, tmp_dir=tmp_path, **fleet_args("latency"),
                      extra_args=["--latency", "onvif=fixed:300ms,snmp=250ms"]) as f:
        d = f.devices()[0]
        t0 = time.monotonic()
        assert soap_time(d).status_code == 200
        t1 = time.monotonic()
        err, _s, _v = run(_get(d, SYS_NAME, timeout=3))
        t2 = time.monotonic()
    assert t1 - t0 >= 0.3 and not err and t2 - t1 >= 0.25


def test_per_device_v3_keys_leave_the_seeded_fleet_unchanged():
    a = generate(120, seed=5, communities=8)
    b = generate(120, seed=5, communities=8, v3_keys="device")
    assert [(x.serial, x.password, x.ip, x.scene) for x in a] == [(x.serial, x.password, x.ip, x.scene) for x in b]
    v3 = [(x, y) for x, y in zip(a, b) if x.snmp_v3]
    assert v3 and all(y.snmp_v3 and y.snmp_v3.user == x.snmp_v3.user for x, y in v3)
    assert len({y.snmp_v3.auth_key for _x, y in v3}) == len(v3)
    assert len({x.snmp_v3.auth_key for x, _y in v3}) < len(v3)      # shared per contract


def test_shards_serve_disjoint_whole_communities_of_one_fleet(tmp_path):
    """Two processes with --shard 0/2 and 1/2 serve the fleet one process would (its
    serials, addresses, topology), each whole communities, each on its own SNMP port."""
    whole = generate(60, seed=7, base_address="127.10.60.1")
    got: list[dict] = []
    for k in (0, 1):
        with FleetProcess(devices=60, seed=7, base_address="127.10.60.1",
                          control_port=18860 + k, onvif_port=18840, snmp_port=18850 + k,
                          tmp_dir=tmp_path, truth=False, extra_args=["--shard", f"{k}/2"]) as fleet:
            devs = fleet.devices()
            assert devs and all(d["snmp_port"] == 18850 + k for d in devs)
            with open(fleet.inventory_path, newline="", encoding="utf-8") as fh:
                assert {r["serial"] for r in csv.DictReader(fh)} == {d["serial"] for d in devs}
            # a device of this shard answers on its address; one of the other shard does not
            mine = devs[0]
            with socket.create_connection((mine["ip"], mine["onvif_port"]), timeout=2):
                pass
            other = next(s for s in whole if s.community_index % 2 != k)
            with pytest.raises(OSError):
                socket.create_connection((other.ip, other.onvif_port), timeout=2).close()
            got += devs
    assert sorted(d["serial"] for d in got) == sorted(s.serial for s in whole)
    by_serial = {s.serial: s for s in whole}
    for d in got:
        s = by_serial[d["serial"]]
        assert (d["ip"], d["upstream"] or "", d["community_index"]) == (s.ip, s.upstream, s.community_index)
    communities = {}
    for d in got:
        communities.setdefault(d["community_index"], set()).add(d["snmp_port"])
    assert all(len(ports) == 1 for ports in communities.values())


def test_a_bad_shard_is_refused():
    from simulator.__main__ import parse_args
    with pytest.raises(SystemExit):
        parse_args(["--inventory", "x.csv", "--shard", "2/2"])
    with pytest.raises(SystemExit):
        parse_args(["--inventory", "x.csv", "--shard", "a"])
