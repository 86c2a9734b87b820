"""``python -m probes HOST ...``: check one device from the shell.

Prints a readable report, or with ``--json`` one JSON object. The exit status follows
the monitoring-plugin convention so Nagios, Icinga or Zabbix can run it as an
external check: 0 OK, 1 WARNING (answers but degraded), 2 CRITICAL (unreachable or a
check failed), 3 UNKNOWN (usage or internal error). Passwords and keys are read from
environment variables named on the command line, never from argv (argv is visible
to every user on the machine).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from probes.config import TierSpec, resolve_tier
from probes.model import TRANSIENT_KINDS, DeviceTarget, ProbeResult

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATUS = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors are UNKNOWN (3), not argparse's 2
        self.print_usage(sys.stderr)
        print(f"UNKNOWN - {message}", file=sys.stderr)
        raise SystemExit(UNKNOWN)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m probes", description=__doc__.split("\n\n")[0])
    p.add_argument("host", help="device address (loopback only in this project)")
    p.add_argument("--serial", help="inventory serial (compared with the device's)")
    p.add_argument("--kind", choices=["camera", "nvr", "switch", "speaker"], default="camera")
    p.add_argument("--onvif-port", type=int)
    p.add_argument("--user")
    p.add_argument("--password-env", metavar="VAR", help="environment variable with the password")
    p.add_argument("--snmp-port", type=int)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--snmp-community")
    g.add_argument("--snmp-user", help="SNMPv3 user (authPriv)")
    p.add_argument("--snmp-auth-env", metavar="VAR")
    p.add_argument("--snmp-priv-env", metavar="VAR")
    p.add_argument("--snmp-version", choices=["1", "2c", "auto"], default="2c",
                   help="community SNMP version (auto: v2c, else v1); --snmp-user means v3")
    p.add_argument("--snmp-auth-protocol", default="SHA")
    p.add_argument("--snmp-priv-protocol", default="AES")
    p.add_argument("--tier", choices=["fast", "full"], default="full")
    p.add_argument("--timeout", type=float, help="per-check timeout in seconds (default per check)")
    p.add_argument("--clock-warn", type=float, default=1.0,
                   help="WARNING when |clock offset| exceeds this (s; GB/T 28181 asks 1 s)")
    p.add_argument("--icmp", action="store_true", help="also ICMP echo (if permitted)")
    p.add_argument("--ptz", action="store_true",
                   help="full tier + PTZ check (pans a little and back; moves the camera!)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--save-frame", metavar="FILE", help="write the grabbed JPEG here")
    return p


def _env(name: Optional[str], what: str) -> Optional[str]:
    if not name:
        return None
    if name not in os.environ:
        raise SystemExit(_usage(f"{what}: environment variable {name} is not set"))
    return os.environ[name]


def _usage(msg: str) -> int:
    print(f"UNKNOWN - {msg}", file=sys.stderr)
    return UNKNOWN


def target_from_args(a: argparse.Namespace) -> DeviceTarget:
    snmp_v3 = bool(a.snmp_user)
    return DeviceTarget(
        serial=a.serial or a.host, host=a.host, kind=a.kind, onvif_port=a.onvif_port,
        username=a.user, password=_env(a.password_env, "--password-env"),
        snmp_port=a.snmp_port, snmp_version="3" if snmp_v3 else a.snmp_version,
        snmp_community=a.snmp_community, snmp_user=a.snmp_user,
        snmp_auth_key=_env(a.snmp_auth_env, "--snmp-auth-env"),
        snmp_priv_key=_env(a.snmp_priv_env, "--snmp-priv-env"),
        snmp_auth_protocol=a.snmp_auth_protocol, snmp_priv_protocol=a.snmp_priv_protocol,
        expected_serial=a.serial)


def judge(res: ProbeResult, clock_warn: float = 1.0) -> tuple[int, list[str]]:
    """Monitoring status for one result, with the reasons behind it.

    This is the shell's own simple verdict; the platform judges results against the
    standard profile in supervisor/health instead.
    """
    crit: list[str] = []
    warn: list[str] = []
    unknown: list[str] = []
    for err in res.errors():
        line = f"{err.check or 'probe'}: {err.kind}: {err.message}"
        if err.kind == "internal":
            unknown.append(line)
        elif err.kind in TRANSIENT_KINDS or err.kind == "auth" or err.check in ("reach", None):
            crit.append(line)
        elif err.check == "frame" and err.kind == "unsupported":
            warn.append(line)
        elif err.check == "ptz":
            warn.append(line)            # PTZ failing degrades a camera that still sees
        else:
            crit.append(line)
    o = res.onvif
    if o is not None and o.ok:
        if o.serial_mismatch:
            warn.append(f"onvif: serial {o.serial_number!r} does not match the inventory")
        if o.clock_offset_s is not None and abs(o.clock_offset_s) > clock_warn:
            warn.append(f"onvif: clock offset {o.clock_offset_s:+.1f} s")
        if o.recordings is not None and o.recordings.recording_now is False:
            warn.append("onvif: not recording (" + ", ".join(o.recordings.stopped[:5]) + ")")
        warn += [f"onvif: {w.kind}: {w.message}" for w in o.warnings if w.kind != "unsupported"]
    s = res.snmp
    if s is not None and s.ok:
        bad_poe = [p.index for p in s.poe if p.faulty]
        if bad_poe:
            warn.append(f"snmp: PoE fault on port(s) {bad_poe}")
    if unknown:
        return UNKNOWN, unknown + crit + warn
    if crit:
        return CRITICAL, crit + warn
    if warn:
        return WARNING, warn
    return OK, []


def summary_line(res: ProbeResult, status: int, reasons: list[str]) -> str:
    bits, perf = [], []
    if res.reach is not None and res.reach.ok and res.reach.rtt_ms is not None:
        bits.append(f"reachable {res.reach.rtt_ms:.1f} ms")
        perf.append(f"rtt={res.reach.rtt_ms / 1000:.4f}s")
    o = res.onvif
    if o is not None and o.ok:
        bits.append(f"{o.manufacturer or '?'} {o.model or '?'}")
        if o.clock_offset_s is not None:
            bits.append(f"clock {o.clock_offset_s:+.1f} s")
            perf.append(f"clock_offset={o.clock_offset_s:.3f}s")
    if res.snmp is not None and res.snmp.ok and res.snmp.sys_uptime_s is not None:
        bits.append(f"up {res.snmp.sys_uptime_s / 86400:.1f} d")
        perf.append(f"uptime={res.snmp.sys_uptime_s:.0f}s")
    if res.frame is not None and res.frame.ok:
        bits.append(f"frame {res.frame.width}x{res.frame.height}")
    head = reasons[0] if reasons else "; ".join(bits) or "no checks ran"
    return f"PROBE {STATUS[status]} - {res.serial}: {head}" + (" | " + " ".join(perf) if perf else "")


def report(res: ProbeResult, status: int, reasons: list[str]) -> str:
    lines = [summary_line(res, status, reasons)]
    lines += [f"  ! {r}" for r in reasons[1:]]
    r = res.reach
    if r is not None:
        lines.append(f"reach: {'ok' if r.ok else 'FAILED'} open={r.ports_open} "
                     f"failed={r.ports_failed} icmp={r.icmp}")
    o = res.onvif
    if o is not None:
        lines.append(f"onvif: {'ok' if o.ok else 'FAILED'}")
        if o.ok:
            lines.append(f"  device: {o.manufacturer} / {o.model} / fw {o.firmware_version} / "
                         f"serial {o.serial_number}" + (" (MISMATCH)" if o.serial_mismatch else ""))
            lines.append(f"  clock: device {o.device_time} offset {o.clock_offset_s} s "
                         f"(rtt {o.clock_rtt_s} s) tz {o.timezone} ntp {o.ntp}")
            for p in o.profiles:
                lines.append(f"  profile {p.token}: {p.encoding} {p.width}x{p.height} @ {p.fps} fps")
            lines.append(f"  snapshot {o.snapshot_uri}  stream {o.stream_uri}")
            if o.recordings is not None:
                rc = o.recordings
                lines.append(f"  recordings: {rc.count}, {rc.earliest} .. {rc.latest}, "
                             f"span {rc.span_days} d (min {rc.min_span_days} d), "
                             f"recording now {rc.recording_now}")
    s = res.snmp
    if s is not None:
        lines.append(f"snmp: {'ok' if s.ok else 'FAILED'} {s.sys_name or ''} "
                     f"uptime {s.sys_uptime_s} s  {s.sys_descr or ''}"[:200])
        for p in s.ports:
            lines.append(f"  port {p.index} {p.name}: {p.oper_status} "
                         f"errors in/out {p.in_errors}/{p.out_errors}")
        for q in s.poe:
            lines.append(f"  poe {q.group}.{q.index}: {q.detection_status}")
    f = res.frame
    if f is not None:
        lines.append(f"frame: {'ok' if f.ok else 'FAILED'} {f.source} {f.width}x{f.height} "
                     f"{f.size_bytes} bytes at {f.grabbed_at}")
    z = res.ptz
    if z is not None:
        lines.append(f"ptz: {'ok' if z.ok else 'FAILED'} moved {z.moved} (change "
                     f"{z.change_moved}) returned {z.returned} (change {z.change_back})")
    return "\n".join(lines)


async def _probe(target: DeviceTarget, spec: TierSpec) -> ProbeResult:
    from probes.runner import probe_one
    total = sum(spec.timeout(c) * (1 + spec.retry(c)) for c in spec.checks) + 5
    async with asyncio.timeout(total):      # a hard bound: the shell never hangs
        return await probe_one(target, spec)


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        a = build_parser().parse_args(argv)
        target = target_from_args(a)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else UNKNOWN
    # onvif-zeep-async calls logging.basicConfig(INFO) on import; keep the report clean.
    logging.basicConfig(level=logging.WARNING)
    for name in ("httpx", "onvif", "zeep", "aiohttp"):
        logging.getLogger(name).setLevel(logging.WARNING)
    spec = resolve_tier(a.tier)
    if a.timeout:
        spec.timeouts = {c: float(a.timeout) for c in spec.timeouts}
    spec.icmp = bool(a.icmp)
    if a.ptz:
        if "onvif" not in spec.checks:
            spec.checks.append("onvif")
        spec.checks.append("ptz")
    try:
        res = asyncio.run(_probe(target, spec))
    except TimeoutError:
        print(f"PROBE CRITICAL - {target.serial}: timed out", file=sys.stdout)
        return CRITICAL
    except Exception as exc:  # noqa: BLE001 - the shell reports, never tracebacks
        print(f"PROBE UNKNOWN - internal error: {type(exc).__name__}: {exc}")
        return UNKNOWN
    status, reasons = judge(res, a.clock_warn)
    if a.save_frame and res.frame is not None and res.frame.jpeg:
        Path(a.save_frame).write_bytes(res.frame.jpeg)
    if a.json:
        out: dict[str, Any] = {"status": STATUS[status], "exit_code": status,
                               "reasons": reasons, "target": target.to_dict(redact=True),
                               "result": res.to_dict()}
        print(json.dumps(out, ensure_ascii=False, indent=None))
    else:
        print(report(res, status, reasons))
    return status


if __name__ == "__main__":
    sys.exit(main())
