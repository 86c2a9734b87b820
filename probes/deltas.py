"""Pure helpers that compare an SNMP result with the previous one: reboots, counters, ports.

No I/O and no clock: the caller passes the seconds between the two probes, so the
health rules can replay history exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from probes.model import SnmpResult

UPTIME_WRAP_S = 2 ** 32 / 100.0          # sysUpTime is TimeTicks: wraps after ~497 days
COUNTER32_WRAP = 2 ** 32
COUNTERS = ("in_errors", "out_errors", "in_discards", "out_discards")


def detect_reboot(previous: Optional[SnmpResult], current: Optional[SnmpResult],
                  elapsed_s: Optional[float] = None, slack_s: float = 5.0) -> Optional[bool]:
    """True when sysUpTime went down since the last probe (the device restarted).

    None when either side has no uptime. A decrease explained by the 497-day TimeTicks
    wrap (previous + elapsed ≈ wrap + current) is not a reboot. With ``elapsed_s`` a
    reboot *between* probes that left uptime larger than before is also caught: uptime
    cannot grow by less than the time that passed, bar ``slack_s`` of clock jitter.
    """
    if previous is None or current is None:
        return None
    prev, cur = previous.sys_uptime_s, current.sys_uptime_s
    if prev is None or cur is None:
        return None
    if cur < prev:
        if elapsed_s is not None and prev + elapsed_s >= UPTIME_WRAP_S - slack_s:
            wrapped = prev + elapsed_s - UPTIME_WRAP_S
            if abs(wrapped - cur) <= slack_s + 0.01 * elapsed_s:
                return False
        return True
    if elapsed_s is not None and cur - prev < elapsed_s - slack_s and cur < elapsed_s:
        return True          # restarted after the last probe and has been up less than the gap
    return False


@dataclass
class PortDelta:
    index: int
    name: Optional[str]
    old_status: Optional[str]
    new_status: Optional[str]
    in_errors: Optional[int] = None
    out_errors: Optional[int] = None
    in_discards: Optional[int] = None
    out_discards: Optional[int] = None
    in_octets: Optional[int] = None
    out_octets: Optional[int] = None

    @property
    def went_down(self) -> bool:
        return self.old_status == "up" and self.new_status not in (None, "up")

    @property
    def came_up(self) -> bool:
        return self.old_status not in (None, "up") and self.new_status == "up"

    @property
    def errors(self) -> int:
        return sum(v or 0 for v in (self.in_errors, self.out_errors))


def _counter_delta(old: Optional[int], new: Optional[int], rebooted: bool,
                   wrap: int = COUNTER32_WRAP) -> Optional[int]:
    if old is None or new is None:
        return None
    if rebooted:
        return new                       # counters restarted from zero at boot, not a wrap
    if new >= old:
        return new - old
    return new + wrap - old              # the counter wrapped once (2^32 or 2^64)


def port_deltas(previous: Optional[SnmpResult], current: Optional[SnmpResult],
                rebooted: Optional[bool] = None,
                elapsed_s: Optional[float] = None) -> list[PortDelta]:
    """Per port (matched by ifIndex): status change and counter increases since last probe.

    A reboot (sysUpTime, see ``detect_reboot``) makes the new value the delta: counters
    restart at boot, and reading that as a wrap would invent ~4 GB of traffic. Octet
    counters wrap at 2^64 when both probes read ifHC*Octets, at 2^32 when both read the
    32-bit ifTable ones; a change of width in between gives no octet delta, and neither
    does a Counter32 when ``elapsed_s`` at ifSpeed could carry 2^32 octets (34 s at
    1 Gbit/s): more than one wrap cannot be told from one.
    """
    if current is None:
        return []
    if rebooted is None:
        rebooted = bool(detect_reboot(previous, current, elapsed_s))
    old = {p.index: p for p in (previous.ports if previous else [])}
    out = []
    for port in current.ports:
        before = old.get(port.index)
        delta = PortDelta(port.index, port.name,
                          before.oper_status if before else None, port.oper_status)
        if before is not None:
            for name in COUNTERS:
                setattr(delta, name, _counter_delta(getattr(before, name), getattr(port, name),
                                                    rebooted))
            bits = port.counter_bits
            if bits == 32 and elapsed_s and port.speed_mbps and \
                    port.speed_mbps * 1e6 / 8 * elapsed_s >= COUNTER32_WRAP:
                bits = None     # the line could have wrapped it more than once: unknowable
            if bits in (32, 64) and before.counter_bits == bits:
                for name in ("in_octets", "out_octets"):
                    setattr(delta, name, _counter_delta(getattr(before, name),
                                                        getattr(port, name), rebooted,
                                                        2 ** bits))
        out.append(delta)
    return out


def poe_faults(current: Optional[SnmpResult]) -> list[int]:
    """Port numbers whose PoE detection status is a fault."""
    return [p.index for p in (current.poe if current else []) if p.faulty]
