"""The acceptance checks as pure functions: what was measured + the profile → verdicts.

Each check gives ``{"check", "verdict", "measured", "required", "clause"}`` with verdict
``pass``, ``fail`` or ``n/a`` (does not apply to this device, or could not be measured
because an earlier check failed: the earlier check carries the failure). A device passes
when no check fails. Measured and required values are short texts a person can read on
the page and the certificate; the numbers behind them stay in the stored probe result.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from probes.model import MediaProfile, ProbeResult

PASS, FAIL, NA = "pass", "fail", "n/a"
CHECK_ORDER = ("reach", "onvif", "identity", "credentials", "stream", "clock", "ntp", "image",
               "ptz", "switch", "recording", "speaker")
KIND_CHECKS = {
    "camera": ("reach", "onvif", "identity", "credentials", "stream", "clock", "ntp", "image",
               "ptz", "speaker"),
    "nvr": ("reach", "onvif", "identity", "credentials", "clock", "ntp", "recording"),
    "switch": ("reach", "switch"),
    "speaker": ("reach", "onvif", "identity", "credentials"),
}


@dataclass
class Check:
    check: str
    verdict: str
    measured: str
    required: str
    clause: str

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "verdict": self.verdict, "measured": self.measured,
                "required": self.required, "clause": self.clause}


@dataclass
class DeviceFacts:
    """The inventory's side of one device, plus what the run learnt around it."""

    serial: str
    kind: str
    role: Optional[str] = None
    vendor: Optional[str] = None
    model: Optional[str] = None
    mac: Optional[str] = None
    has_onvif: bool = True
    # NVR: serials of the community's cameras; switch: serials of the devices it powers.
    cameras: list[str] = field(default_factory=list)
    powered: list[str] = field(default_factory=list)
    # fire-lane camera: its speaker (None: none in the inventory) and whether it answered.
    speaker: Optional[str] = None
    speaker_answers: Optional[bool] = None


@dataclass
class Measured:
    """What the run measured beyond the probe result."""

    probe: ProbeResult
    mac: Optional[str] = None
    mac_error: Optional[str] = None
    logins_tried: int = 0
    logins_accepted: list[str] = field(default_factory=list)   # "user (source)"
    logins_unknown: list[str] = field(default_factory=list)    # "user: error"
    diagnosis: Optional[dict[str, Any]] = None
    diagnosis_error: Optional[str] = None
    # When the first frame showed faults: how many frames were judged, in how many each
    # fault appeared, and the faults seen in a majority (None: no confirmation was needed).
    frames_judged: int = 1
    fault_frames: dict[str, int] = field(default_factory=dict)
    confirmed_faults: Optional[list[str]] = None


def _clause(profile: Any, name: str, fallback: str = "") -> str:
    acc = getattr(profile, "acceptance", None)
    rules = getattr(acc, "checks", None) or {}
    if name in rules:
        return rules[name].clause
    return fallback or (acc.clause if acc is not None else "")


def main_profile(profiles: list[MediaProfile]) -> Optional[MediaProfile]:
    """The main stream: the largest picture among the media profiles."""
    sized = [p for p in profiles if p.width and p.height]
    if not sized:
        return profiles[0] if profiles else None
    return max(sized, key=lambda p: p.width * p.height)


def _norm_mac(mac: Optional[str]) -> Optional[str]:
    if not mac:
        return None
    h = "".join(c for c in mac.lower() if c in "0123456789abcdef")
    return h if len(h) == 12 else None


def _same_name(a: Optional[str], b: Optional[str]) -> bool:
    x, y = (a or "").strip().lower(), (b or "").strip().lower()
    return bool(x and y) and (x == y or x.startswith(y) or y.startswith(x))


def _fmt_s(v: float) -> str:
    return f"{v:+.1f} s"


def judge_device(facts: DeviceFacts, m: Measured, profile: Any,
                 min_resolution_of_slot: Any = None) -> tuple[str, list[Check]]:
    """All checks of one device, in CHECK_ORDER, and the device's verdict."""
    res = m.probe
    names = KIND_CHECKS.get(facts.kind, ("reach",))
    out: dict[str, Check] = {}
    reach_clause = _clause(profile, "reach")
    reachable = bool(res.reach and res.reach.ok) if res.reach is not None else bool(res.reachable)
    if res.reach is not None:
        # Ports, not the connect time: with a whole community probed at once the time
        # includes the platform's own queueing (a device is blamed only for what it did).
        ports = ", ".join(str(p) for p in res.reach.ports_open) or "SNMP"
        out["reach"] = Check("reach", PASS if reachable else FAIL,
                             f"answers (port {ports})" if reachable
                             else _err(res.reach.error, "no answer"),
                             "answers", reach_clause)
    else:
        out["reach"] = Check("reach", FAIL, _err(res.error, "not probed"), "answers",
                             reach_clause)
    if not reachable:
        for n in names:
            if n != "reach":
                out[n] = Check(n, NA, "not measured: device not reachable", _required(n, facts, profile),
                               _clause_of(n, facts, profile))
        return _verdict(out, names)

    on = res.onvif
    onvif_ok = False
    if "onvif" in names:
        if not facts.has_onvif:
            out["onvif"] = Check("onvif", NA, "no ONVIF port in the inventory", "—",
                                 _clause(profile, "onvif"))
        else:
            missing = _onvif_missing(facts, on)
            onvif_ok = on is not None and on.ok and not missing
            measured = ("all answered" if onvif_ok else
                        (_err(on.error, "no answer") if on is None or not on.ok
                         else "missing: " + ", ".join(missing)))
            out["onvif"] = Check("onvif", PASS if onvif_ok else FAIL, measured,
                                 _required("onvif", facts, profile), _clause(profile, "onvif"))

    def gated(n: str) -> bool:
        """Checks that need ONVIF answers: n/a when it failed (the onvif check says why)."""
        if not facts.has_onvif:
            out[n] = Check(n, NA, "no ONVIF port in the inventory", _required(n, facts, profile),
                           _clause_of(n, facts, profile))
            return False
        if not onvif_ok and (on is None or not on.ok):
            out[n] = Check(n, NA, "not measured: ONVIF failed", _required(n, facts, profile),
                           _clause_of(n, facts, profile))
            return False
        return True

    if "identity" in names and gated("identity"):
        out["identity"] = _identity(facts, m, profile)
    if "credentials" in names and gated("credentials"):
        out["credentials"] = _credentials(m, profile)
    if "stream" in names and gated("stream"):
        out["stream"] = _stream(facts, on, profile, min_resolution_of_slot)
    if "clock" in names and gated("clock"):
        out["clock"] = _clock(on, profile)
    if "ntp" in names and gated("ntp"):
        req = "NTP configured"
        if on.ntp is None:
            out["ntp"] = Check("ntp", FAIL, "date/time type not reported", req, _clause(profile, "ntp"))
        else:
            out["ntp"] = Check("ntp", PASS if on.ntp else FAIL,
                               "NTP" if on.ntp else "manual (no NTP)", req, _clause(profile, "ntp"))
    if "image" in names:
        out["image"] = _image(res, m, profile)
    if "ptz" in names:
        out["ptz"] = _ptz(res, profile)
    if "switch" in names:
        out["switch"] = _switch(facts, res, profile)
    if "recording" in names and gated("recording"):
        out["recording"] = _recording(facts, on, profile)
    if "speaker" in names:
        out["speaker"] = _speaker(facts, profile)
    return _verdict(out, names)


def _verdict(out: dict[str, Check], names: tuple[str, ...]) -> tuple[str, list[Check]]:
    checks = [out[n] for n in CHECK_ORDER if n in names and n in out]
    return (FAIL if any(c.verdict == FAIL for c in checks) else PASS), checks


def _err(err: Any, fallback: str) -> str:
    if err is None:
        return fallback
    return f"{err.kind}: {err.message}"[:200]


def _clause_of(n: str, facts: DeviceFacts, profile: Any) -> str:
    if n == "clock":
        return profile.clock.clause
    if n == "recording":
        return profile.nvr.clause
    if n == "stream":
        acc = getattr(profile, "acceptance", None)
        req = acc.stream_for(facts.role) if acc is not None else None
        return req.clause if req is not None else _clause(profile, "stream")
    if n == "image":
        acc = getattr(profile, "acceptance", None)
        return acc.clause if acc is not None else ""
    return _clause(profile, n)


def _required(n: str, facts: DeviceFacts, profile: Any) -> str:
    acc = getattr(profile, "acceptance", None)
    if n == "onvif":
        calls = ["device information", "services", "date and time"]
        if facts.kind in ("camera", "nvr"):
            calls.append("media profiles")
        if facts.kind == "camera":
            calls.append("stream and snapshot URIs")
        return ", ".join(calls)
    if n == "identity":
        return "vendor, model, serial and MAC as in the inventory"
    if n == "credentials":
        return "no factory-default login accepted"
    if n == "stream":
        req = acc.stream_for(facts.role) if acc is not None else None
        if req is None:
            return "—"
        return (f"≥{req.min_resolution} {'/'.join(req.codecs)} ≥{req.min_fps:g} fps "
                f"≥{req.min_bitrate_kbps} kbps")
    if n == "clock":
        return f"|offset| ≤ {profile.clock.tolerance_s:g} s"
    if n == "ntp":
        return "NTP configured"
    if n == "image":
        return f"grade ≥ {acc.min_image_grade}" if acc is not None else "no image fault"
    if n == "ptz":
        return "moves and returns"
    if n == "switch":
        return "SNMP answers; every powered device's port up, PoE delivering"
    if n == "recording":
        return (f"every camera recorded ({len(facts.cameras)}), recording now, "
                f"≥ {profile.nvr.retention_days} days kept")
    if n == "speaker":
        return "paired speaker answers" if facts.role == "fire_lane" else "—"
    return "answers"


def _onvif_missing(facts: DeviceFacts, on: Any) -> list[str]:
    if on is None or not on.ok:
        return []
    missing = []
    if not (on.manufacturer or on.serial_number):
        missing.append("device information")
    if not on.service_addresses:
        missing.append("services/capabilities")
    if on.device_time is None:
        missing.append("date and time")
    if facts.kind in ("camera", "nvr") and not on.profiles:
        missing.append("media profiles")
    if facts.kind == "camera":
        if not on.stream_uri:
            missing.append("stream URI")
        if not on.snapshot_uri:
            missing.append("snapshot URI")
    return missing


def _identity(facts: DeviceFacts, m: Measured, profile: Any) -> Check:
    on = m.probe.onvif
    wrong, seen = [], []
    pairs = (("vendor", facts.vendor, on.manufacturer, _same_name),
             ("model", facts.model, on.model, _same_name),
             ("serial", facts.serial, on.serial_number,
              lambda a, b: (a or "").strip().upper() == (b or "").strip().upper()),
             ("MAC", facts.mac, m.mac, lambda a, b: _norm_mac(a) == _norm_mac(b) and bool(_norm_mac(a))))
    for label, listed, got, same in pairs:
        if not listed:
            continue                     # nothing in the inventory to compare with
        seen.append(f"{label} {got or '?'}")
        if got is None or not same(listed, got):
            wrong.append(f"{label} {got or '(not reported)'} ≠ {listed}")
    if wrong:
        return Check("identity", FAIL, "; ".join(wrong), _required("identity", facts, profile),
                     _clause(profile, "identity"))
    return Check("identity", PASS, ", ".join(seen) or "nothing to compare",
                 _required("identity", facts, profile), _clause(profile, "identity"))


def _credentials(m: Measured, profile: Any) -> Check:
    req = "no factory-default login accepted"
    clause = _clause(profile, "credentials")
    if m.logins_accepted:
        return Check("credentials", FAIL, "default login accepted: " + "; ".join(m.logins_accepted),
                     req, clause)
    if m.logins_unknown:
        return Check("credentials", FAIL, f"undetermined ({len(m.logins_unknown)} of "
                     f"{m.logins_tried} attempts failed): " + "; ".join(m.logins_unknown)[:150],
                     req, clause)
    return Check("credentials", PASS, f"{m.logins_tried} default logins refused", req, clause)


def _stream(facts: DeviceFacts, on: Any, profile: Any, slot_min: Any) -> Check:
    acc = getattr(profile, "acceptance", None)
    req = acc.stream_for(facts.role) if acc is not None else None
    main = main_profile(on.profiles)
    clause = _clause_of("stream", facts, profile)
    if main is None:
        return Check("stream", FAIL, "no media profile", _required("stream", facts, profile), clause)
    measured = (f"{main.width or '?'}x{main.height or '?'} {main.encoding or '?'} "
                f"{(main.fps or 0):g} fps {main.bitrate_kbps or '?'} kbps")
    if req is None and slot_min is None:
        return Check("stream", NA, measured, "no requirement in the profile", clause)
    bad = []
    min_res = req.min_resolution if req is not None else slot_min
    if not min_res.admits(main.width, main.height):
        bad.append("resolution")
    if req is not None:
        if (main.fps or 0) < req.min_fps:
            bad.append("frame rate")
        if (main.encoding or "").upper().replace(".", "") not in {c.upper().replace(".", "") for c in req.codecs}:
            bad.append("codec")
        if (main.bitrate_kbps or 0) < req.min_bitrate_kbps:
            bad.append("bitrate")
    required = _required("stream", facts, profile) if req is not None else f"≥{min_res}"
    return Check("stream", FAIL if bad else PASS,
                 measured + (f" (below: {', '.join(bad)})" if bad else ""), required, clause)


def clock_uncertainty(rtt_s: Optional[float]) -> float:
    """ONVIF gives whole seconds (±0.5 s after the probe's +0.5 s correction) and the
    device read its clock somewhere within the round trip (±RTT/2)."""
    return 0.5 + (rtt_s or 0.0) / 2.0


def _clock(on: Any, profile: Any) -> Check:
    tol = float(profile.clock.tolerance_s)
    req = f"|offset| ≤ {tol:g} s"
    if on.clock_offset_s is None:
        return Check("clock", FAIL, "device time not reported", req, profile.clock.clause)
    unc = clock_uncertainty(on.clock_rtt_s)
    off = float(on.clock_offset_s)
    # Breached only beyond the measurement's own uncertainty.
    verdict = FAIL if abs(off) - unc > tol else PASS
    return Check("clock", verdict, f"{_fmt_s(off)} ± {unc:.1f} s", req, profile.clock.clause)


def image_grade(diagnosis: dict[str, Any], profile: Any) -> int:
    sev = [f.get("severity", "major") for f in diagnosis.get("faults") or []]
    acc = getattr(profile, "acceptance", None)
    grades = getattr(acc, "image_grades", None)
    if grades is None:
        return 5 if not sev else 1
    return grades.grade(sev)


def _image(res: ProbeResult, m: Measured, profile: Any) -> Check:
    acc = getattr(profile, "acceptance", None)
    clause = acc.clause if acc is not None else ""
    need = acc.min_image_grade if acc is not None else 5
    req = f"grade ≥ {need}"
    fr = res.frame
    if fr is None or not fr.ok:
        return Check("image", FAIL, "no frame: " + _err(fr.error if fr else None, "not grabbed"),
                     req, clause)
    if m.diagnosis is None or m.diagnosis_error:
        return Check("image", FAIL, f"diagnosis failed: {m.diagnosis_error or '?'}", req, clause)
    faults = m.diagnosis.get("faults") or []
    if m.confirmed_faults is not None:
        faults = [f for f in faults if f["fault"] in m.confirmed_faults]
    grade = image_grade({"faults": faults}, profile)
    what = ", ".join(f"{f['fault']} ({f['measure']} {f['value']:g} {'>' if f['op'] == 'above' else '<'} "
                     f"{f['threshold']:g}; {m.fault_frames.get(f['fault'], 1)}/{m.frames_judged} frames)"
                     for f in faults) or "no fault"
    kept = set(m.confirmed_faults) if m.confirmed_faults is not None else set(m.fault_frames)
    dropped = sorted(set(m.fault_frames) - kept)
    if dropped:
        what += " (not confirmed: " + ", ".join(
            f"{d} {m.fault_frames[d]}/{m.frames_judged} frames" for d in dropped) + ")"
    return Check("image", PASS if grade >= need else FAIL, f"grade {grade}: {what}", req, clause)


def _ptz(res: ProbeResult, profile: Any) -> Check:
    clause = _clause(profile, "ptz")
    p = res.ptz
    if p is None or (p.error is not None and p.error.kind == "unsupported" and p.moved is None
                     and "no PTZ service" in p.error.message):
        return Check("ptz", NA, "fixed camera (no PTZ service)", "—", clause)
    if p.ok:
        return Check("ptz", PASS, f"moved (change {p.change_moved:g}), returned "
                     f"(change {p.change_back:g})", "moves and returns", clause)
    return Check("ptz", FAIL, _err(p.error, "did not move"), "moves and returns", clause)


def _switch(facts: DeviceFacts, res: ProbeResult, profile: Any) -> Check:
    clause = _clause(profile, "switch")
    req = _required("switch", facts, profile)
    s = res.snmp
    if s is None or not s.ok:
        return Check("switch", FAIL, "SNMP: " + _err(s.error if s else None, "not probed"), req, clause)
    need = len(facts.powered)
    faulty = [p.index for p in s.poe if p.faulty]
    delivering = sum(1 for p in s.poe if p.detection_status == "deliveringPower")
    up = sum(1 for p in s.ports if p.oper_status == "up")
    parts = [f"ports up {up}/{len(s.ports)}"]
    bad = False
    if s.poe_support == "unsupported" or not s.poe:
        parts.append("no PoE MIB")
        bad = up < need
    else:
        parts.append(f"PoE delivering {delivering} for {need} devices")
        if faulty:
            parts.append("PoE fault on port " + ", ".join(str(i) for i in faulty))
        bad = bool(faulty) or delivering < need
    return Check("switch", FAIL if bad else PASS, "; ".join(parts), req, clause)


def _recording(facts: DeviceFacts, on: Any, profile: Any) -> Check:
    clause = profile.nvr.clause
    req = _required("recording", facts, profile)
    r = on.recordings
    if r is None:
        return Check("recording", FAIL, "no recordings reported (Profile G)", req, clause)
    bad = []
    if r.count < len(facts.cameras):
        bad.append("cameras not recorded")
    if r.stopped:
        bad.append("stopped")
    span = r.min_span_days if r.min_span_days is not None else r.span_days
    if span is None or span < profile.nvr.retention_days:
        bad.append("retention")
    measured = (f"{r.count} recordings for {len(facts.cameras)} cameras; "
                f"stopped: {', '.join(r.stopped[:5]) or 'none'}; "
                f"shortest kept {span:.1f} d" if span is not None else
                f"{r.count} recordings; span unknown")
    return Check("recording", FAIL if bad else PASS, measured, req, clause)


def _speaker(facts: DeviceFacts, profile: Any) -> Check:
    clause = _clause(profile, "speaker")
    if facts.role != "fire_lane":
        return Check("speaker", NA, "not a fire-lane camera", "—", clause)
    req = "paired speaker answers"
    if facts.speaker is None:
        return Check("speaker", FAIL, "no speaker paired in the inventory", req, clause)
    if facts.speaker_answers:
        return Check("speaker", PASS, f"{facts.speaker} answers", req, clause)
    return Check("speaker", FAIL, f"{facts.speaker} does not answer", req, clause)
