"""SNMPv3 exchanges through our USM codec (``snmp_usm``) on one shared UDP socket.

The counterpart of ``snmp._V2cEndpoint``/``_V2cSession`` for v3: every v3 request of a
client goes out of one ``probes.udp.UdpEndpoint`` (every queued answer read per wake-up,
stamped with the kernel's receive time) and answers are matched by msgID, then by
request-id. Per agent the endpoint keeps what RFC 3414 §2.3 asks a non-authoritative
engine to keep: the agent's snmpEngineID (learnt by discovery, §4) and its boots and
time, advanced by our clock between answers. A Report of notInTimeWindow or
unknownEngineID updates them and the request is sent again (twice at most); the other
USM Reports are the user's fault (``auth``).

Timeliness: an answer is taken when its msgID and request-id are those of our request
(both fresh random numbers, and the msgID under the HMAC), so a replayed old answer
cannot match; its boots and time then replace our estimate, as pysnmp does. RFC 3414
§3.2 (7b)'s check of the answer's time against our estimate adds nothing to that and
would read a device whose clock was reset as silent.
"""
from __future__ import annotations

import asyncio
import random
import time
from typing import Any, Optional

from probes.snmp_ber import GET, GETBULK, GETNEXT, RESPONSE
from probes.snmp_usm import (FLAG_AUTH, FLAG_PRIV, Message, UsmError, UsmUser,
                             encode_discovery, encode_request, open_pdu, parse_message)

_RESEND_ON_SYNC = 2          # sends after notInTimeWindow / unknownEngineID reports


class EngineState:
    """What we know of one agent's engine: ID, boots, and time at a monotonic instant."""

    __slots__ = ("engine_id", "boots", "time", "at")

    def __init__(self, engine_id: bytes, boots: int, etime: int, at: float) -> None:
        self.engine_id, self.boots, self.time, self.at = engine_id, boots, etime, at

    def now(self) -> tuple[int, int]:
        """(boots, time) to send: the agent's time advanced by our clock since we read it."""
        etime = self.time + int(max(0.0, time.monotonic() - self.at))
        return self.boots, max(0, min(2 ** 31 - 1, etime))

    def update(self, msg: Message, arrival: float) -> None:
        self.boots, self.time, self.at = msg.boots, msg.time, arrival


class UsmEndpoint:
    """One UDP socket for every SNMPv3 request of a client; answers matched by msgID."""

    def __init__(self) -> None:
        from probes.udp import UdpEndpoint
        self.udp = UdpEndpoint(self._received)
        # msgID -> (future of (Message, arrival), (host, port))
        self.pending: dict[int, tuple[asyncio.Future, tuple[str, int]]] = {}
        self.engines: dict[tuple[str, int], EngineState] = {}
        self._next = random.randrange(1, 2 ** 30)
        self._open = False
        self.late = 0       # answers that came when nothing waited for them (diagnostics)

    def open(self) -> "UsmEndpoint":
        if not self._open:
            self.udp.open(asyncio.get_running_loop())
            self._open = True
        return self

    def close(self) -> None:
        self.udp.close()
        self._open = False

    def next_id(self) -> int:
        self._next = self._next % (2 ** 31 - 1) + 1
        return self._next

    def _received(self, data: bytes, addr: tuple, arrival: float) -> None:
        from probes.snmp import SnmpError
        where = (addr[0], addr[1])
        try:
            msg = parse_message(data)
        except UsmError as exc:
            # Not readable, so not matched to a request: fail what we wait for from there.
            for fut, w in list(self.pending.values()):
                if w == where and not fut.done():
                    fut.set_exception(SnmpError("malformed", str(exc)))
            return
        entry = self.pending.get(msg.msg_id)
        if entry is None or entry[1] != where or entry[0].done():
            self.late += 1
            return          # late, duplicate or from elsewhere: ignore
        entry[0].set_result((msg, arrival))


class UsmSession:
    """A user's session with one agent: the same surface as ``snmp._V2cSession``
    (``get``/``bulk``/``getnext``, ``device_s``, ``last_rtt_s``, ``budget_s``).

    ``timeout`` is the agent's time to answer each datagram we send it (discovery, then
    the request), from our send to the kernel's receipt of the answer."""

    version = "3"

    def __init__(self, endpoint: UsmEndpoint, host: str, port: int, user: UsmUser,
                 timeout: float, retries: int = 0) -> None:
        self.ep, self.addr, self.user = endpoint, (host, port), user
        self.timeout, self.retries = timeout, retries
        self.walk = "getbulk"
        self.bulk_ok = False
        self.device_s = 0.0
        self.last_rtt_s: Optional[float] = None
        self.budget_s: Optional[float] = None

    async def get(self, oids: list[str]) -> dict[str, Any]:
        return dict(await self._send(oids, GET))

    async def bulk(self, oids: list[str], reps: int) -> list[tuple[str, Any]]:
        return await self._send(oids, GETBULK, reps)

    async def getnext(self, oids: list[str]) -> list[tuple[str, Any]]:
        return await self._send(oids, GETNEXT)

    # ---------------------------------------------------------- exchange

    async def _exchange(self, build: Any) -> tuple[Message, float, int]:
        """Send ``build(msg_id)`` (a (bytes, request_id) pair) and wait for the answer
        with its msgID: (message, kernel arrival, request_id). ``retries`` more sends
        after silence; ``SnmpError('timeout')`` when none was answered in time."""
        from probes.snmp import _answer_by, silence_error
        msg_id = self.ep.next_id()
        data, request_id = build(msg_id)
        fut = asyncio.get_running_loop().create_future()
        self.ep.pending[msg_id] = (fut, self.addr)
        try:
            for _attempt in range(1 + self.retries):
                sent = self.ep.udp.sendto(data, self.addr)
                got = await _answer_by(fut, sent + self.timeout, self.ep.udp)
                if got is not None:
                    msg, arrival = got
                    self.last_rtt_s = max(0.0, arrival - sent)
                    self.device_s += self.last_rtt_s
                    return msg, arrival, request_id
            raise silence_error(fut, sent, self.timeout)
        finally:
            self.ep.pending.pop(msg_id, None)

    async def _engine(self) -> EngineState:
        """The agent's engine, discovered (RFC 3414 §4) on first use."""
        from probes.snmp import SnmpError
        state = self.ep.engines.get(self.addr)
        if state is not None:
            return state
        msg, arrival, rid = await self._exchange(lambda mid: (encode_discovery(mid, mid), mid))
        pdu = self._open(msg, None)
        if not msg.engine_id:
            raise SnmpError("malformed", "SNMPv3 discovery answered without an engine ID")
        if not pdu.is_report and pdu.tag != RESPONSE:
            raise SnmpError("malformed", f"SNMPv3 discovery answered with PDU 0x{pdu.tag:02x}")
        state = EngineState(msg.engine_id, msg.boots, msg.time, arrival)
        self.ep.engines[self.addr] = state
        return state

    def _open(self, msg: Message, user: Optional[UsmUser]) -> Any:
        from probes.snmp import SnmpError
        try:
            return open_pdu(msg, user)
        except UsmError as exc:
            raise SnmpError(exc.kind, _usm_text(exc)) from None

    async def _send(self, oids: list[str], pdu: int, reps: int = 0) -> list[tuple[str, Any]]:
        from probes.snmp import SnmpError, _check_budget
        from probes.snmp_ber import error_name
        _check_budget(self)
        engine = await self._engine()
        user = self.user
        what = "notInTimeWindow"
        for _try in range(1 + _RESEND_ON_SYNC):
            boots, etime = engine.now()
            eid = engine.engine_id

            def build(mid: int) -> tuple[bytes, int]:
                try:
                    return encode_request(user, eid, boots, etime, mid, mid, oids, pdu=pdu,
                                          max_repetitions=reps), mid
                except UsmError as exc:
                    raise SnmpError(exc.kind, str(exc)) from None
            msg, arrival, rid = await self._exchange(build)
            answer = self._open(msg, user)
            if answer.is_report:
                what = answer.report_indication()
                if what in ("notInTimeWindow", "unknownEngineID") and msg.engine_id:
                    # Resynchronise on the agent's word and send again (RFC 3414 §4).
                    if msg.engine_id != engine.engine_id:
                        engine = EngineState(msg.engine_id, msg.boots, msg.time, arrival)
                        self.ep.engines[self.addr] = engine
                    else:
                        engine.update(msg, arrival)
                    continue
                raise SnmpError(_REPORT_KIND.get(what, "fault"), _report_text(what))
            if answer.tag != RESPONSE:
                raise SnmpError("malformed", f"answer PDU 0x{answer.tag:02x} is not a response")
            if answer.request_id != rid:
                raise SnmpError("malformed", f"answer's request-id {answer.request_id} is not "
                                             f"ours ({rid})")
            want = user.flags & (FLAG_AUTH | FLAG_PRIV)
            if msg.flags & (FLAG_AUTH | FLAG_PRIV) != want:
                raise SnmpError("malformed", f"answer's security level (flags "
                                             f"0x{msg.flags:02x}) is not our request's")
            if msg.engine_id != engine.engine_id or msg.user != user.name:
                raise SnmpError("malformed", "answer names another engine or user")
            if user.level >= 2:
                engine.update(msg, arrival)      # authenticated: the agent's own clock
            if answer.error_status:
                raise SnmpError("fault", f"agent error {error_name(answer.error_status)} "
                                         f"at {answer.error_index}",
                                answer.error_status, answer.error_index)
            return answer.varbinds
        raise SnmpError("auth", _report_text(what)
                        + f" (still after {_RESEND_ON_SYNC} resynchronisations)")


# Report indications as pysnmp's path words them (see ``snmp._INDICATION_TEXT``).
_REPORT_KIND = {"unsupportedSecLevel": "auth", "notInTimeWindow": "auth",
                "unknownUserName": "auth", "unknownEngineID": "auth", "wrongDigest": "auth",
                "decryptionError": "auth"}


def _report_text(what: str) -> str:
    from probes.snmp import _INDICATION_TEXT
    text = _INDICATION_TEXT.get(what.lower())
    return f"{text}: agent's report" if text else f"agent reported {what}"


def _usm_text(exc: UsmError) -> str:
    from probes.snmp import _INDICATION_TEXT
    if exc.indication == "decryptionError":
        return f"{_INDICATION_TEXT['decryptionerror']}: {exc}"
    return str(exc)
