"""The SNMP probe against agents that behave like field switches (issue 5 hardening).

Two real agents over real UDP sockets:
* Debian's net-snmp ``snmpd`` with its own IF-MIB modules switched off (``-I``) and the
  interface and PoE tables served by a ``pass_persist`` script from a JSON file the tests
  rewrite (counters that wrap, H3C-style sparse ifIndexes), views per community (one
  agent "without ifXTable and POWER-ETHERNET-MIB", one full), a v1-only community,
  ``maxGetbulkResponses`` (every GETBULK answered with fewer rows than asked) and a v3
  user for engine-boots / wrong-key tests;
* the simulator's SNMP agent in-process, with opt-in quirks (tooBig, GETBULK refused,
  non-increasing OIDs, noSuchInstance inside a walk).
Addresses: snmpd on 127.0.0.1:11700-11799, simulator on 127.90.0.0/16 port 19700-19799.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from probes.deltas import detect_reboot, port_deltas
from probes.model import DeviceTarget, PoePort, PortStatus
from probes.snmp import SnmpClient, map_poe_ports
from probe_helpers import _free_udp_port, run, stop_process, wait_answering

V3_USER, V3_AUTH, V3_PRIV = "interop3", "interop-auth-1", "interop-priv-1"
IF_ENTRY = "1.3.6.1.2.1.2.2.1"
IFX_ENTRY = "1.3.6.1.2.1.31.1.1.1"
PETH = "1.3.6.1.2.1.105.1.1.1"
IF_INDEXES = [4097, 4098, 4099, 4100]        # H3C-style: ifIndex is not the port number
PASS_SCRIPT = r'''
import json, sys
def key(o): return tuple(int(x) for x in o.strip(".").split(".") if x)
def rows():
    try:
        with open(sys.argv[1]) as f:
            return sorted((key(o), t, v) for o, (t, v) in json.load(f).items())
    except (OSError, ValueError):
        return []
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "PING":
        print("PONG", flush=True)
    elif cmd in ("get", "getnext"):
        want = key(sys.stdin.readline().strip())
        hit = next(((k, t, v) for k, t, v in rows()
                    if (k == want if cmd == "get" else k > want)), None)
        print(("." + ".".join(map(str, hit[0])) + "\n" + hit[1] + "\n" + str(hit[2]))
              if hit else "NONE", flush=True)
    elif cmd == "set":
        sys.stdin.readline(); sys.stdin.readline()
        print("not-writable", flush=True)
    elif not cmd:
        break
'''


def switch_data(in_octets: list[int], hc_in: list[int]) -> dict[str, list]:
    """The agent's IF-MIB + POWER-ETHERNET-MIB (no ifNumber: some agents lack it)."""
    d: dict[str, list] = {}
    for n, ix in enumerate(IF_INDEXES, 1):
        d[f"{IF_ENTRY}.1.{ix}"] = ["integer", ix]
        d[f"{IF_ENTRY}.2.{ix}"] = ["string", f"GigabitEthernet1/0/{n}"]
        d[f"{IF_ENTRY}.5.{ix}"] = ["gauge", 1000000000]
        d[f"{IF_ENTRY}.7.{ix}"] = ["integer", 1]
        d[f"{IF_ENTRY}.8.{ix}"] = ["integer", 1 if n != 2 else 2]
        d[f"{IF_ENTRY}.10.{ix}"] = ["counter", in_octets[n - 1]]
        d[f"{IF_ENTRY}.14.{ix}"] = ["counter", n]
        d[f"{IF_ENTRY}.16.{ix}"] = ["counter", 7 * n]
        d[f"{IFX_ENTRY}.1.{ix}"] = ["string", f"GE1/0/{n}"]
        d[f"{IFX_ENTRY}.6.{ix}"] = ["counter64", hc_in[n - 1]]
        d[f"{IFX_ENTRY}.10.{ix}"] = ["counter64", 11 * n]
        d[f"{PETH}.3.1.{n}"] = ["integer", 1]
        d[f"{PETH}.6.1.{n}"] = ["integer", 4 if n == 3 else 3]   # port 3: PoE fault
    return d


class ScriptedSnmpd:
    """net-snmp's snmpd serving IF-MIB/PoE from a JSON file through pass_persist."""

    def __init__(self, base: Path, port: int) -> None:
        self.base, self.port = base, port
        self.data = base / "mib.json"
        self.proc: subprocess.Popen | None = None
        for d in ("mibs", "persist"):
            (base / d).mkdir(exist_ok=True)
        (base / "pass.py").write_text(PASS_SCRIPT)
        self.set(switch_data([1000, 2000, 3000, 4000], [1000, 2000, 3000, 4000]))
        pp = f"{sys.executable} {base / 'pass.py'} {self.data}"
        (base / "conf").mkdir(exist_ok=True)
        (base / "conf" / "snmpd.conf").write_text(
            f"agentAddress udp:127.0.0.1:{port}\n"
            "com2sec legacy 127.0.0.1 legacy-ro\n"
            "com2sec vendor 127.0.0.1 vendor-ro\n"
            "com2sec oldie 127.0.0.1 v1only-ro\n"
            "group g_legacy v1 legacy\ngroup g_legacy v2c legacy\n"
            "group g_vendor v1 vendor\ngroup g_vendor v2c vendor\n"
            "group g_oldie v1 oldie\n"
            "view all included .1\n"
            "view noifx included .1\n"
            "view noifx excluded .1.3.6.1.2.1.31\n"
            "view noifx excluded .1.3.6.1.2.1.105\n"
            'access g_legacy "" any noauth exact noifx none none\n'
            'access g_vendor "" any noauth exact all none none\n'
            'access g_oldie "" v1 noauth exact noifx none none\n'
            f"createUser {V3_USER} SHA {V3_AUTH} AES {V3_PRIV}\n"
            f"rouser {V3_USER} priv\n"
            "maxGetbulkResponses 7\n"          # every GETBULK: fewer rows than asked
            "sysName interop-switch\n"
            f"pass_persist .1.3.6.1.2.1.2 {pp}\n"
            f"pass_persist .1.3.6.1.2.1.31 {pp}\n"
            f"pass_persist .1.3.6.1.2.1.105 {pp}\n"
            )

    def set(self, data: dict[str, list]) -> None:
        tmp = self.data.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.data)                 # the script never reads half a file

    def start(self) -> None:
        # Config through SNMPCONFPATH, not -C -c: -C also skips the persistent store, so
        # engineBoots would restart at 1 (and a random engine ID change) on every start.
        persist = str(self.base / "persist")
        self.proc = subprocess.Popen(
            ["/usr/sbin/snmpd", "-f", "-Lo",
             "-M", str(self.base / "mibs"), "-m", "", "-I", "-ifTable,ifXTable,interfaces"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "SNMPCONFPATH": f"{self.base / 'conf'}:{persist}",
                 "SNMP_PERSISTENT_DIR": persist})
        wait_answering(self.proc, lambda: self.cli(
            "snmpget", "vendor-ro", "1.3.6.1.2.1.1.3.0").returncode == 0)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def cli(self, tool: str, community: str, *args: str, version: str = "2c"):
        """net-snmp's own client: the third party that says what the agent really does."""
        return subprocess.run([tool, f"-v{version}", "-c", community, "-t", "0.5", "-r", "0",
                               "-On", "-Oq", f"127.0.0.1:{self.port}", *args],
                              capture_output=True, text=True, timeout=10)

    def engine_boots(self) -> int:
        r = subprocess.run(["snmpget", "-v3", "-l", "authPriv", "-u", V3_USER, "-a", "SHA",
                            "-A", V3_AUTH, "-x", "AES", "-X", V3_PRIV, "-On", "-Oqv", "-t", "1",
                            f"127.0.0.1:{self.port}", "1.3.6.1.6.3.10.2.1.2.0"],
                           capture_output=True, text=True, timeout=10, check=True)
        return int(r.stdout.strip())


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScriptedSnmpd]:
    if not Path("/usr/sbin/snmpd").exists():
        pytest.skip("Debian snmpd not installed (make sysdeps)")
    a = ScriptedSnmpd(tmp_path_factory.mktemp("interop-snmpd"),
                      _free_udp_port("127.0.0.1", 11700, 11800))
    a.start()
    yield a
    a.stop()


def target(agent: ScriptedSnmpd, community: str = "vendor-ro", version: str = "2c",
           **kw: Any) -> DeviceTarget:
    return DeviceTarget("SW-INTEROP", "127.0.0.1", kind="switch", snmp_port=agent.port,
                        snmp_community=community, snmp_version=version, **kw)


async def _probe(*targets: DeviceTarget, timeout: float = 2.0) -> list:
    client = SnmpClient()
    try:
        return [await client.probe(t, timeout) for t in targets]
    finally:
        client.close()


def probe(t: DeviceTarget, timeout: float = 2.0):
    return run(_probe(t, timeout=timeout), 15)[0]


# ------------------------------------------------------------- 1. ifTable fallback, counters

def test_agent_without_ifxtable_uses_ifdescr_and_32bit_counters(agent):
    walked = agent.cli("snmpwalk", "legacy-ro", "1.3.6.1.2.1.31").stdout
    assert "No Such Object" in walked and "GE1/0/1" not in walked
    res = probe(target(agent, "legacy-ro"))
    assert res.ok and res.error is None, res.error
    assert [p.index for p in res.ports] == IF_INDEXES
    assert [p.name for p in res.ports] == [f"GigabitEthernet1/0/{n}" for n in range(1, 5)]
    assert {p.counter_bits for p in res.ports} == {32}
    assert [p.in_octets for p in res.ports] == [1000, 2000, 3000, 4000]
    assert res.ports[1].oper_status == "down"
    assert res.poe_support == "unsupported" and res.poe == []
    assert res.error is None and res.ok          # PoE absent is not a failure


def test_counter64_and_ifname_where_ifxtable_exists(agent):
    big = 2 ** 40 + 5
    agent.set(switch_data([1000, 2000, 3000, 4000], [big, 2000, 3000, 4000]))
    res = probe(target(agent))
    assert res.ok, res.error
    assert [p.name for p in res.ports] == [f"GE1/0/{n}" for n in range(1, 5)]
    assert {p.counter_bits for p in res.ports} == {64}
    assert res.ports[0].in_octets == big and res.ports[0].out_octets == 11


def test_counter32_wrap_between_probes_is_a_wrap(agent):
    near = 2 ** 32 - 1000
    agent.set(switch_data([near, 10, 10, 10], [1, 1, 1, 1]))
    before = probe(target(agent, "legacy-ro"))
    agent.set(switch_data([500, 20, 10, 10], [1, 1, 1, 1]))
    after = probe(target(agent, "legacy-ro"))
    assert detect_reboot(before, after) is False       # sysUpTime went on: no reboot
    d = {x.index: x for x in port_deltas(before, after)}
    assert d[4097].in_octets == 1500                    # 1000 to the wrap + 500 after it
    assert d[4098].in_octets == 10 and d[4099].in_octets == 0


def test_counter64_wraps_at_2_to_the_64(agent):
    agent.set(switch_data([1, 1, 1, 1], [2 ** 64 - 10, 1, 1, 1]))
    before = probe(target(agent))
    agent.set(switch_data([1, 1, 1, 1], [30, 1, 1, 1]))
    after = probe(target(agent))
    (first, *_rest) = port_deltas(before, after)
    assert first.in_octets == 40


def test_agent_restart_resets_counters_and_is_not_read_as_a_wrap(agent):
    agent.set(switch_data([3_000_000_000, 10, 10, 10], [1, 1, 1, 1]))
    t0 = time.monotonic()
    before = probe(target(agent, "legacy-ro"))
    boots = agent.engine_boots()
    agent.stop()
    agent.set(switch_data([700, 10, 10, 10], [1, 1, 1, 1]))
    agent.start()
    after = probe(target(agent, "legacy-ro"))
    elapsed = time.monotonic() - t0
    # The agent may have been up for well under a second at both probes (this test can
    # be the module's first), so sysUpTime need not go down: as the sweep does, the rule
    # gets the time that passed. Up for less than that, and grown by less than it: it
    # restarted in between. Both uptimes are read off this machine's clock, so the slack
    # is TimeTicks' own resolution, not the sweep's allowance for clock jitter.
    assert after.sys_uptime_s < elapsed
    rebooted = detect_reboot(before, after, elapsed_s=elapsed, slack_s=0.01)
    assert rebooted is True
    d = {x.index: x for x in port_deltas(before, after, rebooted=rebooted, elapsed_s=elapsed)}
    assert d[4097].in_octets == 700                     # not 700 + 2^32 - 3e9
    assert agent.engine_boots() == boots + 1            # what the v3 test relies on


# ------------------------------------------------------------- 2. walks

def test_getbulk_answered_with_fewer_rows_than_asked_still_reads_every_row(agent):
    # net-snmp's own bulk shows the agent really truncates (maxGetbulkResponses 7).
    lines = agent.cli("snmpbulkget", "vendor-ro", "-Cr25", f"{IF_ENTRY}.2").stdout.splitlines()
    assert 0 < len(lines) <= 7
    agent.set(switch_data([1, 2, 3, 4], [1, 2, 3, 4]))
    res = probe(target(agent))
    assert res.ok and res.walk == "getbulk"
    assert [p.index for p in res.ports] == IF_INDEXES
    assert all(p.in_errors is not None and p.speed_mbps == 1000 for p in res.ports)
    assert len(res.poe) == 4


# ------------------------------------------------------------- 3. SNMPv1-only agents

def test_v1_only_agent_is_walked_with_getnext(agent):
    assert agent.cli("snmpget", "v1only-ro", "1.3.6.1.2.1.1.3.0").returncode != 0   # no v2c
    agent.set(switch_data([5, 6, 7, 8], [1, 1, 1, 1]))
    res = probe(target(agent, "v1only-ro", version="1"))
    assert res.ok, res.error
    assert res.snmp_version == "1" and res.walk == "getnext"
    assert res.sys_name == "interop-switch"         # GET survived the missing ifNumber
    assert [p.index for p in res.ports] == IF_INDEXES
    assert [p.in_octets for p in res.ports] == [5, 6, 7, 8]
    assert res.poe_support == "unsupported"          # v1 noSuchName at the end: not an error


def test_v2c_to_a_v1_only_agent_times_out_and_auto_detects_v1(agent):
    plain = probe(target(agent, "v1only-ro"), timeout=1.0)
    assert not plain.ok and plain.error.kind == "timeout"
    t0 = time.monotonic()
    res = probe(target(agent, "v1only-ro", version="auto"), timeout=1.5)
    assert time.monotonic() - t0 < 5
    assert res.ok and res.snmp_version == "1" and len(res.ports) == 4
    assert any("SNMPv1 only" in w.message for w in res.warnings)
    v2 = probe(target(agent, "vendor-ro", version="auto"))   # a v2c agent stays on v2c
    assert v2.ok and v2.snmp_version == "2c" and v2.walk == "getbulk"
    assert not any("SNMPv1" in w.message for w in v2.warnings)


# ------------------------------------------------------------- 4./5. PoE and port mapping

def test_poe_ports_map_to_sparse_ifindexes_by_ifname(agent):
    agent.set(switch_data([1, 2, 3, 4], [1, 2, 3, 4]))
    res = probe(target(agent))
    assert res.poe_support == "supported"
    by_port = {p.index: p for p in res.poe}
    assert by_port[3].faulty and not by_port[1].faulty
    assert {p.index: (p.if_index, p.if_mapping) for p in res.poe} == {
        n: (ix, "ifname") for n, ix in enumerate(IF_INDEXES, 1)}


def test_poe_mapping_rules_without_names_and_with_ambiguous_names():
    poe = [PoePort(index=1), PoePort(index=2)]
    map_poe_ports(poe, [PortStatus(index=1, name="eth0"), PortStatus(index=2, name="eth1")])
    assert [(p.if_index, p.if_mapping) for p in poe] == [(1, "index"), (2, "index")]
    # Huawei-style slot 0 on a one-group switch still maps by the port number.
    poe = [PoePort(index=2)]
    map_poe_ports(poe, [PortStatus(index=7, name="GigabitEthernet0/0/2"),
                        PortStatus(index=2, name="Vlanif2")])
    assert (poe[0].if_index, poe[0].if_mapping) == (7, "ifname")
    # Two candidates, neither in the PSE's group: no guess.
    poe = [PoePort(index=2, group=1)]
    map_poe_ports(poe, [PortStatus(index=7, name="GE0/0/2"), PortStatus(index=9, name="XGE0/1/2")])
    assert poe[0].if_index is None and poe[0].if_mapping is None


# ------------------------------------------------------------- 6. SNMPv3

def _v3(agent: ScriptedSnmpd, auth: str = V3_AUTH, priv: str = V3_PRIV) -> DeviceTarget:
    return DeviceTarget("SW-INTEROP", "127.0.0.1", kind="switch", snmp_port=agent.port,
                        snmp_version="3", snmp_user=V3_USER, snmp_auth_key=auth,
                        snmp_priv_key=priv)


def test_v3_survives_an_agent_restart_with_a_higher_engine_boots(agent):
    async def go() -> tuple:
        client = SnmpClient()                # one engine: cached engine ID/boots/time
        try:
            first = await client.probe(_v3(agent), 2.0)
            boots = await asyncio.to_thread(agent.engine_boots)
            await asyncio.to_thread(agent.stop)
            await asyncio.to_thread(agent.start)
            second = await client.probe(_v3(agent), 3.0)
            # usmStatsNotInTimeWindows (RFC 3414), counted since the restart: the agent
            # really told our engine its cached boots/time were stale.
            stale = await asyncio.to_thread(agent.cli, "snmpget", "vendor-ro",
                                            "1.3.6.1.6.3.15.1.1.2.0")
            return (first, second, boots, await asyncio.to_thread(agent.engine_boots),
                    int(stale.stdout.split()[-1]))
        finally:
            client.close()
    first, second, boots_before, boots_after, not_in_window = run(go(), 30)
    assert first.ok, first.error
    assert boots_after == boots_before + 1
    assert not_in_window >= 1
    assert second.ok, second.error                   # notInTimeWindow handled by pysnmp
    assert second.sys_uptime_s < first.sys_uptime_s + 1 or second.sys_uptime_s < 2
    assert len(second.ports) == 4


def test_v3_wrong_auth_and_wrong_priv_are_distinct_auth_errors(agent):
    bad_auth, bad_priv = run(_probe(_v3(agent, auth="not-the-auth-key"),
                                    _v3(agent, priv="not-the-priv-key")), 15)
    assert not bad_auth.ok and bad_auth.error.kind == "auth"
    assert "authentication key" in bad_auth.error.message
    assert not bad_priv.ok and bad_priv.error.kind == "auth"
    assert "privacy key" in bad_priv.error.message
    assert bad_auth.error.message != bad_priv.error.message


# ------------------------------------------------------------- 2. quirky agents (simulator)

SIM_BASE, SIM_PORT = "127.90.0.1", 19761


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    """The simulator's SNMP agent in-process (own thread and loop) on 127.90.x."""
    from simulator.faults import DeviceState
    from simulator.fleet import generate
    from simulator.snmp import FleetAgent
    specs = generate(12, seed=9, base_address=SIM_BASE, snmp_port=SIM_PORT, v3_share=0.0)
    states = {s.serial: DeviceState(spec=s) for s in specs}
    fa = FleetAgent(states, time.time, lambda _d: 0.0)
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        fa.start(loop, SIM_PORT, wildcard=False, gate=lambda _ip: True)
        started.set()
        loop.run_forever()
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    assert started.wait(10)
    sw = next(s for s in specs if s.kind == "switch")
    yield fa, sw
    loop.call_soon_threadsafe(loop.stop)
    th.join(5)
    fa.close()


def _sim_probe(sim: Any, quirks: set[str]):
    fa, sw = sim
    fa.quirks[sw.ip] = set(quirks)
    try:
        t = DeviceTarget(sw.serial, sw.ip, kind="switch", snmp_port=SIM_PORT,
                         snmp_community=sw.snmp_community)
        return probe(t), sw
    finally:
        fa.quirks.pop(sw.ip, None)


def test_sim_without_quirks_is_the_baseline(sim):
    res, sw = _sim_probe(sim, set())
    assert res.ok and res.walk == "getbulk" and not res.warnings
    assert len(res.ports) == sw.ports and len(res.poe) == sw.ports


def test_toobig_getbulk_is_retried_with_fewer_repetitions(sim):
    res, sw = _sim_probe(sim, {"bulk_toobig"})
    assert res.ok, res.error
    assert len(res.ports) == sw.ports and all(p.name for p in res.ports)
    assert len(res.poe) == sw.ports
    assert any("tooBig" in w.message for w in res.warnings)


def test_agent_refusing_getbulk_is_walked_with_getnext(sim):
    res, sw = _sim_probe(sim, {"bulk_refused"})
    assert res.ok, res.error
    assert res.walk == "getnext" and len(res.ports) == sw.ports


def test_non_increasing_oids_stop_that_column_only(sim):
    t0 = time.monotonic()
    res, sw = _sim_probe(sim, {"oid_loop"})
    assert time.monotonic() - t0 < 5
    assert res.ok, res.error
    assert any("non-increasing" in w.message and w.kind == "malformed" for w in res.warnings)
    assert len(res.ports) == sw.ports                # the other columns were read in full
    assert all(p.oper_status for p in res.ports)


def test_nosuchinstance_inside_a_walk_is_a_hole_not_a_value(sim):
    res, sw = _sim_probe(sim, {"nosuch_hole"})
    assert res.ok, res.error
    port2 = next(p for p in res.ports if p.index == 2)
    assert port2.in_errors is None and port2.oper_status is not None
    assert all(p.in_errors is not None for p in res.ports if p.index != 2)
    assert any("noSuch" in w.message for w in res.warnings)


def test_shell_takes_the_snmp_version(agent):
    agent.set(switch_data([1, 2, 3, 4], [1, 2, 3, 4]))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-m", "probes", "127.0.0.1", "--kind", "switch",
                          "--snmp-port", str(agent.port), "--snmp-community", "v1only-ro",
                          "--snmp-version", "1", "--json", "--timeout", "2"],
                         cwd=Path(__file__).resolve().parents[2], env=env,
                         capture_output=True, text=True, timeout=30)
    doc = json.loads(out.stdout)
    assert "v1only-ro" not in out.stdout                # the community stays secret
    snmp = doc["result"]["snmp"]
    assert snmp["ok"] and snmp["snmp_version"] == "1" and snmp["walk"] == "getnext"
    assert snmp["poe_support"] == "unsupported" and len(snmp["ports"]) == 4
    assert out.returncode == 0 and doc["status"] == "OK", out.stdout + out.stderr


def test_counter32_delta_is_withheld_when_the_line_could_wrap_it_twice():
    from probes.model import SnmpResult
    def res(octets: int, uptime: float) -> SnmpResult:
        return SnmpResult(ok=True, sys_uptime_s=uptime, ports=[PortStatus(
            index=1, speed_mbps=1000, in_octets=octets, out_octets=octets, counter_bits=32)])
    (short,) = port_deltas(res(2 ** 32 - 5, 100.0), res(5, 110.0), elapsed_s=10.0)
    assert short.in_octets == 10                      # 10 s at 1 Gbit/s < 2^32 octets
    (long_,) = port_deltas(res(2 ** 32 - 5, 100.0), res(5, 160.0), elapsed_s=60.0)
    assert long_.in_octets is None                    # 60 s could hold two wraps


def test_v3_wrong_priv_still_counts_as_reachable(agent):
    async def go():
        client = SnmpClient()
        try:
            return (await client.reach(_v3(agent, priv="not-the-priv-key"), 2.0),
                    await client.reach(_v3(agent), 2.0))
        finally:
            client.close()
    wrong, right = run(go(), 15)
    assert wrong.ok and right.ok                       # it answered: only the key is wrong
    t = _v3(agent)
    t.snmp_port = 11799 if agent.port != 11799 else 11798   # nothing listens there

    async def silent_reach():
        client = SnmpClient()
        try:
            return await client.reach(t, 1.0)
        finally:
            client.close()
    silent = run(silent_reach(), 10)
    assert not silent.ok and silent.error.kind == "timeout"


def test_toobig_get_is_split_into_one_oid_per_request(sim):
    res, sw = _sim_probe(sim, {"get_toobig"})
    assert res.ok, res.error
    assert res.sys_name == sw.serial and res.sys_uptime_s is not None
    assert len(res.ports) == sw.ports
