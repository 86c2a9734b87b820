"""Our SNMPv3 USM codec (probes/snmp_usm.py, snmp_usm_client.py) against real agents and
against pysnmp on the same agents.

* Debian's net-snmp ``snmpd`` with one user per protocol pair we support (MD5/SHA/SHA-2
  auth, DES/AES privacy, authNoPriv, noAuthNoPriv) and one we leave to pysnmp (AES-256):
  every probe through our codec equals pysnmp's on the same agent, wrong credentials read
  as the same kinds, and the agent's own counters show the discovery and time-window
  paths were really taken;
* a UDP relay between our client and snmpd that truncates, corrupts, replays or
  replaces the agent's answers: each is a recorded probe failure of a stated kind;
* the simulator's v3 switches, both codecs on the same devices.
Addresses: snmpd on 127.0.0.1:11800-11899.
"""
from __future__ import annotations

import asyncio
import os
import random
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

from probes.model import DeviceTarget
from probes.snmp import SnmpClient
from probes.snmp_usm import (UsmError, UsmUser, encode_request, localize, master_key,
                             open_pdu, parse_message)
from probe_helpers import _free_udp_port, run, sim_target, stop_process, wait_answering

COMMUNITY = "usm-ro"
# user -> (auth protocol, auth pass, priv protocol, priv pass, level for rouser)
USERS = {
    "md5des": ("MD5", "md5-auth-pass-1", "DES", "des-priv-pass-1", "priv"),
    "shaaes": ("SHA", "sha-auth-pass-1", "AES", "aes-priv-pass-1", "priv"),
    "sha256aes": ("SHA-256", "sha256-auth-pass", "AES", "aes-priv-pass-2", "priv"),
    "sha512aes": ("SHA-512", "sha512-auth-pass", "AES", "aes-priv-pass-3", "priv"),
    "sha224des": ("SHA-224", "sha224-auth-pass", "DES", "des-priv-pass-2", "priv"),
    "md5auth": ("MD5", "md5-only-pass-1", None, None, "auth"),
    "sha384auth": ("SHA-384", "sha384-only-pass", None, None, "auth"),
    "nokeys": (None, None, None, None, "noauth"),
    "aes256": ("SHA", "sha-auth-pass-4", "AES-256", "aes256-priv-pass", "priv"),
}


class UsersSnmpd:
    """net-snmp's snmpd with the users above, in the foreground on a loopback port."""

    def __init__(self, base: Path, port: int) -> None:
        self.base, self.port = base, port
        self.proc: Optional[subprocess.Popen] = None
        for d in ("mibs", "persist"):
            (base / d).mkdir(parents=True, exist_ok=True)
        lines = [f"agentAddress udp:127.0.0.1:{port}",
                 f"rocommunity {COMMUNITY} 127.0.0.1", "sysName usm-test-agent"]
        for user, (ap, ak, pp, pk, level) in USERS.items():
            words = ["createUser", user] + ([ap, ak] if ap else []) + ([pp, pk] if pp else [])
            lines += [" ".join(words), f"rouser {user} {level}"]
        lines.append(f"[snmp] persistentDir {base / 'persist'}")
        self.conf = base / "snmpd.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["/usr/sbin/snmpd", "-f", "-Lo", "-C", "-c", str(self.conf),
             "-M", str(self.base / "mibs"), "-m", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_answering(self.proc, lambda: self.counter("1.3.6.1.2.1.1.3.0") is not None)

    def stop(self) -> None:
        stop_process(self.proc)

    def counter(self, oid: str) -> Optional[int]:
        """A value read with net-snmp's own client (the third party)."""
        r = subprocess.run(["snmpget", "-v2c", "-c", COMMUNITY, "-t", "0.5", "-r", "0",
                            "-On", "-Oqvt", f"127.0.0.1:{self.port}", oid],
                           capture_output=True, text=True, timeout=10)
        try:
            return int(r.stdout.strip().split()[-1]) if r.returncode == 0 else None
        except (ValueError, IndexError):
            return None

    def answers_v3(self, user: str) -> bool:
        """Whether net-snmp's own client gets an answer for ``user`` (protocol built in)."""
        ap, ak, pp, pk, level = USERS[user]
        args = ["snmpget", "-v3", "-u", user, "-l",
                {"priv": "authPriv", "auth": "authNoPriv", "noauth": "noAuthNoPriv"}[level]]
        if ap:
            args += ["-a", ap, "-A", ak]
        if pp:
            args += ["-x", pp, "-X", pk]
        args += ["-t", "1", "-r", "0", f"127.0.0.1:{self.port}", "1.3.6.1.2.1.1.5.0"]
        return subprocess.run(args, capture_output=True, timeout=10).returncode == 0


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UsersSnmpd]:
    if not Path("/usr/sbin/snmpd").exists():
        pytest.skip("Debian snmpd not installed (make sysdeps)")
    a = UsersSnmpd(tmp_path_factory.mktemp("usm-snmpd"),
                   _free_udp_port("127.0.0.1", 11800, 11900))
    a.start()
    yield a
    a.stop()


def target(port: int, user: str, **override: Any) -> DeviceTarget:
    ap, ak, pp, pk, _level = USERS[user]
    t = DeviceTarget("USM-1", "127.0.0.1", kind="switch", snmp_port=port, snmp_version="3",
                     snmp_user=user, snmp_auth_key=ak, snmp_priv_key=pk,
                     snmp_auth_protocol=ap, snmp_priv_protocol=pp)
    for k, v in override.items():
        setattr(t, k, v)
    return t


async def _probe_with(codec: str, t: DeviceTarget, timeout: float = 2.0) -> tuple[Any, Any]:
    client = SnmpClient(v3_codec=codec)
    try:
        res = await client.probe(t, timeout)
        return res, (client._usm is not None, client._engine is not None)
    finally:
        client.close()


def both(*coros: Any) -> Any:
    async def go() -> list:
        return await asyncio.gather(*coros)
    return go()


def _comparable(res: Any) -> tuple:
    """What two probes of the same agent must agree on (counters move between them)."""
    return (res.ok, res.error and res.error.kind, res.snmp_version, res.sys_name,
            res.sys_object_id, res.sys_descr, res.walk, res.poe_support,
            [(p.index, p.name, p.oper_status, p.admin_status, p.speed_mbps, p.counter_bits)
             for p in res.ports])


# ------------------------------------------------------------- keys (RFC 3414 A.3)

def test_password_to_key_matches_rfc_3414_vectors_and_pysnmp():
    eid = bytes.fromhex("000000000000000000000002")
    assert localize(master_key("maplesyrup", "md5"), eid, "md5").hex() == \
        "526f5eed9fcce26f8964c2930787d82b"
    assert localize(master_key("maplesyrup", "sha1"), eid, "sha1").hex() == \
        "6695febc9288e36282235fc7151f128497b38f3f"
    # SHA-2 (RFC 7860 gives no vectors): the same construction as pysnmp's.
    import hashlib

    from pysnmp.proto.secmod.rfc3414 import localkey
    from pysnmp.proto.rfc1902 import OctetString
    for name in ("sha224", "sha256", "sha384", "sha512"):
        h = getattr(hashlib, name)
        theirs = localkey.password_to_key(OctetString("maplesyrup"), OctetString(eid), h)
        assert localize(master_key("maplesyrup", name), eid, name) == bytes(theirs)


# ------------------------------------------------------------- real agent, both codecs

@pytest.mark.parametrize("user", ["md5des", "shaaes", "sha256aes", "sha512aes", "sha224des",
                                  "md5auth", "sha384auth", "nokeys"])
def test_each_protocol_pair_reads_what_pysnmp_reads(agent, user):
    assert agent.answers_v3(user), "net-snmp's own client must get an answer first"
    (ours, (usm, eng)), (theirs, (usm2, eng2)) = run(both(
        _probe_with("auto", target(agent.port, user)),
        _probe_with("pysnmp", target(agent.port, user))), 20)
    assert usm and not eng                      # ours, and no pysnmp engine was made
    assert eng2 and not usm2
    assert ours.ok, ours.error
    assert ours.sys_name == "usm-test-agent" and ours.ports
    assert _comparable(ours) == _comparable(theirs)
    assert abs(ours.sys_uptime_s - theirs.sys_uptime_s) < 5


def test_a_privacy_protocol_outside_our_codec_goes_through_pysnmp(agent):
    t = target(agent.port, "aes256")
    res, (usm, eng) = run(_probe_with("auto", t), 20)
    assert not usm and eng                       # chosen per session, transparently
    res_usm, _ = run(_probe_with("usm", t), 20)
    assert not res_usm.ok and res_usm.error.kind == "unsupported"
    # Whatever pysnmp makes of net-snmp's AES-256 (vendors extend the 128-bit localized
    # key differently; pysnmp's usmAesCfb256Protocol reads net-snmp's AES-256 as a wrong
    # privacy key today), "auto" gives exactly pysnmp's answer.
    pys, _ = run(_probe_with("pysnmp", t), 20)
    assert _comparable(res) == _comparable(pys)


WRONG = {
    "auth key": dict(snmp_auth_key="not-the-auth-key"),
    "priv key": dict(snmp_priv_key="not-the-priv-key"),
    "user": dict(snmp_user="nosuchuser"),
    "auth protocol": dict(snmp_auth_protocol="MD5"),
    "priv protocol": dict(snmp_priv_protocol="DES"),
    "level above the user's": dict(snmp_user="md5auth", snmp_auth_key="md5-only-pass-1",
                                   snmp_auth_protocol="MD5"),
}


@pytest.mark.parametrize("what", list(WRONG))
def test_wrong_credentials_read_as_pysnmp_reads_them(agent, what):
    t = target(agent.port, "shaaes", **WRONG[what])
    ours, theirs = run(both(_probe_with("auto", t, 1.5), _probe_with("pysnmp", t, 1.5)), 30)
    ours, theirs = ours[0], theirs[0]
    assert not ours.ok and ours.error.kind == "auth", ours.error
    assert (theirs.ok, theirs.error.kind) == (ours.ok, ours.error.kind)
    # The advice (before the colon) is the same words: which key or name to check.
    assert ours.error.message.split(":")[0] == theirs.error.message.split(":")[0]


def test_stale_engine_time_and_a_changed_engine_id_are_resynchronised(agent):
    not_in_window = "1.3.6.1.6.3.15.1.1.2.0"
    unknown_eid = "1.3.6.1.6.3.15.1.1.4.0"

    async def go() -> tuple:
        client = SnmpClient(v3_codec="usm")
        try:
            t = target(agent.port, "shaaes")
            first = await client.probe(t, 2.0)
            addr = ("127.0.0.1", agent.port)
            state = client._usm.engines[addr]
            w0 = await asyncio.to_thread(agent.counter, not_in_window)
            state.time += 1000                   # our estimate far outside the window
            late = await client.probe(t, 2.0)
            w1 = await asyncio.to_thread(agent.counter, not_in_window)
            e0 = await asyncio.to_thread(agent.counter, unknown_eid)
            real = state.engine_id
            state.engine_id = b"\x80\x00\x1f\x88\x04not-this-agent"
            moved = await client.probe(t, 2.0)
            e1 = await asyncio.to_thread(agent.counter, unknown_eid)
            return first, late, moved, w1 - w0, e1 - e0, client._usm.engines[addr], real
        finally:
            client.close()
    first, late, moved, windows, unknowns, state, real = run(go(), 40)
    assert first.ok and late.ok and moved.ok, (late.error, moved.error)
    assert windows >= 1            # the agent really refused our stale time, once at least
    assert unknowns >= 1           # and really did not know the engine ID we named
    assert state.engine_id == real


# ------------------------------------------------------------- bad answers (relay)

class Relay:
    """Forwards our client's datagrams to the agent and the agent's answers back through
    ``mutate(answer) -> list of datagrams to deliver`` (a plain socket: asyncio's
    transport would drop an empty datagram)."""

    def __init__(self, agent_addr: tuple, mutate: Callable[[bytes], list[bytes]]) -> None:
        import socket
        self.agent_addr, self.mutate = agent_addr, mutate
        self.client: Optional[tuple] = None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(self.sock.fileno(), self._read)

    def _read(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
            except BlockingIOError:
                return
            if addr == self.agent_addr:
                for out in self.mutate(data):
                    self.sock.sendto(out, self.client)
            else:
                self.client = addr
                self.sock.sendto(data, self.agent_addr)

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


async def _through_relay(agent: UsersSnmpd, mutate: Callable[[bytes], list[bytes]],
                         user: str = "shaaes", timeout: float = 1.0) -> tuple[Any, float]:
    relay = Relay(("127.0.0.1", agent.port), mutate)
    client = SnmpClient(v3_codec="usm")
    try:
        t0 = time.monotonic()
        res = await client.probe(target(relay.port, user), timeout)
        return res, time.monotonic() - t0
    finally:
        client.close()
        relay.close()


def _authenticated(data: bytes) -> bool:
    try:
        return bool(parse_message(data).flags & 0x01)
    except UsmError:
        return False


def _reauthenticate(data: bytes, user: str, change: Callable[[Any], bytes]) -> bytes:
    """``change(message)`` -> new raw bytes with the digest field zeroed, re-signed with
    the user's real key: an answer the agent could have sent."""
    import hmac as _hmac
    ap, ak, pp, pk, _ = USERS[user]
    u = UsmUser(user, ak, pk, ap, pp)
    msg = parse_message(data)
    raw = change(msg)
    key, _ = u.keys(msg.engine_id)
    mac = _hmac.digest(key, raw, u.hash_name)[:u.mac_len]
    return raw[:msg.auth_at] + mac + raw[msg.auth_at + u.mac_len:]


def _new_salt(msg: Any) -> bytes:
    raw = bytearray(msg.raw)
    raw[msg.auth_at:msg.auth_at + len(msg.auth)] = b"\x00" * len(msg.auth)
    at = bytes(raw).find(msg.salt, msg.auth_at)
    raw[at:at + 8] = bytes(b ^ 0x5A for b in msg.salt)
    return bytes(raw)


BAD_ANSWERS: dict[str, tuple[Callable[[bytes], list[bytes]], str, str]] = {
    # what the agent's answer to our authenticated request becomes -> (kind, words)
    "truncated": (lambda d: [d[:len(d) // 2]] if _authenticated(d) else [d],
                  "malformed", "truncated"),
    "empty datagram": (lambda d: [b""] if _authenticated(d) else [d], "malformed", ""),
    "random bytes": (lambda d: [random.Random(7).randbytes(len(d))] if _authenticated(d)
                     else [d], "malformed", ""),
    "one bit flipped in the ciphertext": (
        lambda d: [d[:-3] + bytes([d[-3] ^ 0x01]) + d[-2:]] if _authenticated(d) else [d],
        "auth", "authentication"),
    "digest zeroed": (
        lambda d: [_new_digest(d, b"\x00")] if _authenticated(d) else [d],
        "auth", "authentication"),
    "authentic but not decryptable (salt changed, re-signed)": (
        lambda d: [_reauthenticate(d, "shaaes", _new_salt)] if _authenticated(d) else [d],
        "auth", "privacy key"),
    "discovery answer truncated": (
        lambda d: [d] if _authenticated(d) else [d[:20]], "malformed", ""),
}


def _new_digest(data: bytes, fill: bytes) -> bytes:
    msg = parse_message(data)
    return data[:msg.auth_at] + fill * len(msg.auth) + data[msg.auth_at + len(msg.auth):]


@pytest.mark.parametrize("case", list(BAD_ANSWERS))
def test_a_bad_answer_is_a_recorded_failure_of_a_stated_kind(agent, case):
    mutate, kind, words = BAD_ANSWERS[case]
    res, took = run(_through_relay(agent, mutate), 15)
    assert not res.ok
    assert res.error.kind == kind, res.error
    assert words in res.error.message
    assert took < 0.9                            # judged on the answer, not by a timeout


def test_a_replayed_or_foreign_answer_is_never_taken_for_ours(agent):
    kept: list[bytes] = []

    def replay(d: bytes) -> list[bytes]:
        # Discovery passes; the first real answer is held back, and every later request
        # gets that old answer again (valid digest, old msgID) instead of its own.
        if not _authenticated(d):
            return [d]
        if not kept:
            kept.append(d)
            return [d]
        return [kept[0]]
    res, _took = run(_through_relay(agent, replay, timeout=1.0), 15)
    assert not res.ok and res.error.kind == "timeout"    # the old answer matched nothing

    def swapped_request_id(d: bytes) -> list[bytes]:
        # An answer with our msgID, correctly signed and encrypted, whose PDU carries
        # another request-id: not the answer to our request.
        if not _authenticated(d):
            return [d]
        return [_reencrypt_with_request_id(d, "shaaes")]
    res, took = run(_through_relay(agent, swapped_request_id), 15)
    assert not res.ok and res.error.kind == "malformed"
    assert "request-id" in res.error.message and took < 0.9


def _reencrypt_with_request_id(data: bytes, user: str) -> bytes:
    """The agent's answer with its PDU's request-id changed, then encrypted and signed
    again with the user's real keys: only the request-id tells it apart."""
    from probes.snmp_ber import RESPONSE
    ap, ak, pp, pk, _ = USERS[user]
    u = UsmUser(user, ak, pk, ap, pp)
    msg = parse_message(data)
    pdu = open_pdu(msg, u)
    oids = [o for o, _v in pdu.varbinds]
    # encode_request writes NULL values: the varbind values do not matter here.
    return encode_request(u, msg.engine_id, msg.boots, msg.time, msg.msg_id,
                          pdu.request_id + 1, oids, pdu=RESPONSE)


def test_every_truncation_and_byte_change_of_a_real_answer_is_rejected(agent):
    seen: list[bytes] = []
    res, _ = run(_through_relay(agent, lambda d: (seen.append(d), [d])[1]), 15)
    assert res.ok, res.error
    answer = next(d for d in seen if _authenticated(d))
    ap, ak, pp, pk, _ = USERS["shaaes"]
    user = UsmUser("shaaes", ak, pk, ap, pp)
    assert open_pdu(parse_message(answer), user).varbinds       # the genuine one reads
    rng = random.Random(11)
    variants = [answer[:n] for n in range(len(answer))]
    for _ in range(400):
        i = rng.randrange(len(answer))
        variants.append(answer[:i] + bytes([answer[i] ^ (1 << rng.randrange(8))])
                        + answer[i + 1:])
    for v in variants:
        with pytest.raises(UsmError) as info:
            open_pdu(parse_message(v), user)
        assert info.value.kind in ("malformed", "auth")


# ------------------------------------------------------------- the simulator's switches

def test_simulator_v3_devices_read_the_same_through_both_codecs(fleet_devices):
    devices = [d for ds in fleet_devices.values() for d in ds if d.get("snmp_v3")]
    assert len(devices) >= 3

    async def go(codec: str) -> list:
        client = SnmpClient(v3_codec=codec)
        try:
            return await asyncio.gather(*(client.probe(sim_target(d, v3=True), 2.0)
                                          for d in devices))
        finally:
            client.close()
    ours, theirs = run(go("usm"), 30), run(go("pysnmp"), 60)
    assert all(r.ok for r in ours), [r.error for r in ours if not r.ok]
    assert [_comparable(r) for r in ours] == [_comparable(r) for r in theirs]
    assert any(r.poe for r in ours)               # switches: the PoE table came through
    assert [[(p.index, p.detection_status) for p in r.poe] for r in ours] == \
        [[(p.index, p.detection_status) for p in r.poe] for r in theirs]


def test_des_salt_and_aes_salt_never_repeat_in_a_process():
    from probes.snmp_usm import encrypt
    key = os.urandom(16)
    salts = {encrypt(p, key, 1, 2, b"x" * 20)[1] for p in ("AES", "DES") for _ in range(500)}
    assert len(salts) == 1000


def _report(answer: bytes, counter_oid: str) -> bytes:
    """An unauthenticated Report naming ``counter_oid``, with the answer's msgID and
    engine: what an agent sends when it will not take our request."""
    from probes.snmp_ber import REPORT, _tlv, encode_pdu
    from probes.snmp_usm import _message, _usm_params
    msg = parse_message(answer)
    usm, at = _usm_params(msg.engine_id, msg.boots, msg.time, msg.user, b"", b"")
    scoped = _tlv(0x30, _tlv(0x04, msg.engine_id) + _tlv(0x04, b"")
                  + encode_pdu(0, [counter_oid], pdu=REPORT))
    return _message(msg.msg_id, 0, usm, at, scoped)[0]


@pytest.mark.parametrize("counter,words", [
    ("1.3.6.1.6.3.15.1.1.2.0", "time window"),      # usmStatsNotInTimeWindows
    ("1.3.6.1.6.3.15.1.1.4.0", "engine ID not known"),  # usmStatsUnknownEngineIDs
])
def test_an_agent_that_never_accepts_our_resynchronisation_is_an_auth_failure(agent, counter,
                                                                              words):
    sent: list[int] = []

    def always_report(d: bytes) -> list[bytes]:
        if not _authenticated(d):
            return [d]                               # discovery goes through
        sent.append(1)
        return [_report(d, counter)]
    res, took = run(_through_relay(agent, always_report), 15)
    assert not res.ok and res.error.kind == "auth", res.error
    assert words in res.error.message
    assert len(sent) == 3                            # the request and two resends, no more
    assert took < 0.9
