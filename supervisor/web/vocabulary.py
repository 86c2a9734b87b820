"""Every code a person sees, with its translated label, in one place.

The database, URLs and the JSON API keep the English codes (`offline`, `image_fault`,
`login-failed`); pages and exports show `term(code)` in the page's language. A code is
looked up in its domain first (`term("frame", "check")` is the frame check, `term("frame",
"tier")` the frame tier), then in every domain. An unknown code is shown as it is, so a new
code from another area is visible (and the translation test fails on it) rather than hidden.

A probe finding (a "reason" dict: check, code, value, limit, …) is shown by `reason_text`
as one sentence in the page's language with its measured value and limit; the raw dict stays
available (`reason_raw`) for a "details" toggle. `duration` spells a length of time the way
the page's language does (3分34秒 / 3m 34s).

Template use (registered by `register`): `{{ code|term }}`, `{{ code|term('cause') }}`,
`{{ reason|reason_text }}`, `{{ reason|reason_raw }}`, `{{ seconds|duration }}`, and the
macro `reasons(list)` in templates/_macros.html, which draws sentences + details.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable, Mapping

from flask import Flask
from flask_babel import gettext, lazy_gettext as _l

from supervisor.core import localtime

# ------------------------------------------------------------------ the labels, by domain

VOCABULARY: dict[str, dict[str, Any]] = {
    "state": {
        "ok": _l("ok"), "degraded": _l("degraded"), "offline": _l("offline"),
        "unknown": _l("unknown"), "maintenance": _l("maintenance"), "flapping": _l("flapping"),
        "no_data": _l("no data"),
    },
    "kind": {"camera": _l("camera"), "nvr": _l("NVR"), "switch": _l("switch"),
             "speaker": _l("speaker")},
    "role": {"entrance": _l("entrance"), "road": _l("road"), "perimeter": _l("perimeter"),
             "high_altitude": _l("high-altitude"), "fire_lane": _l("fire lane"),
             "interior": _l("interior")},
    "community_type": {"open": _l("open"), "closed": _l("closed"),
                       "single_building": _l("single building")},
    "lifecycle": {"planned": _l("planned"), "installed": _l("installed"),
                  "accepted": _l("accepted"), "retired": _l("retired")},
    "user_role": {"police": _l("police"), "contractor": _l("contractor"),
                  "official": _l("official")},
    # DeviceStatus.cause / StateInterval.cause: the main reason of a state.
    "cause": {
        "unreachable": _l("unreachable"), "upstream": _l("upstream device down"),
        "maintenance": _l("maintenance window"), "auth_failed": _l("login refused"),
        "onvif_failed": _l("ONVIF check failed"), "snmp_failed": _l("SNMP check failed"),
        "frame_failed": _l("no test frame"), "frame_corrupt": _l("frame unreadable"),
        "image_fault": _l("image fault"), "not_recording": _l("not recording"),
        "retention_short": _l("recordings too short"), "poe_fault": _l("PoE fault"),
        "clock_drift": _l("clock drift"), "serial_mismatch": _l("serial mismatch"),
        "upstream_down": _l("upstream device down"), "rebooted": _l("rebooted"),
        "window": _l("maintenance window"), "not_measured": _l("not measured (platform overloaded)"),
        "not_recorded": _l("not recorded (its NVR is offline)"),
    },
    # Which probe ran (reason["check"], sweep tiers' checks).
    "check": {"reach": _l("reachability"), "onvif": _l("ONVIF"), "snmp": _l("SNMP"),
              "frame": _l("test frame"), "ptz": _l("PTZ"), "batch": _l("sweep"),
              "upstream": _l("upstream"), "maintenance": _l("maintenance"),
              "history": _l("history")},
    # probes.model.ERROR_KINDS: how a probe failed.
    "error_kind": {"timeout": _l("timed out"), "refused": _l("connection refused"),
                   "unreachable": _l("no route"), "reset": _l("connection reset"),
                   "auth": _l("wrong user name or password"), "malformed": _l("malformed answer"),
                   "fault": _l("device reported a fault"), "unsupported": _l("not supported"),
                   "internal": _l("platform error"), "deadline": _l("sweep deadline passed"),
                   "not_measured": _l("not measured (platform overloaded)")},
    "fault": {"signal_loss": _l("signal loss"), "blur": _l("blur"), "too_dark": _l("too dark"),
              "too_bright": _l("too bright"), "low_contrast": _l("low contrast"),
              "color_cast": _l("colour cast"), "noise": _l("noise"), "occlusion": _l("occlusion"),
              "stripes": _l("stripes"), "frozen": _l("frozen picture"),
              "scene_change": _l("scene changed")},
    "severity": {"minor": _l("minor"), "major": _l("major"), "critical": _l("critical")},
    "tier": {"fast": _l("fast (reachability)"), "full": _l("full (ONVIF, SNMP)"),
             "frame": _l("frame (test picture)")},
    "sweep_status": {"running": _l("running"), "done": _l("done"), "failed": _l("failed")},
    "trigger": {"cli": _l("command line"), "scheduler": _l("scheduler"), "bench": _l("benchmark"),
                "page": _l("page"), "demo": _l("demo")},
    "executor": {"local": _l("local"), "celery": _l("Celery")},
    "audit_action": {"login": _l("logged in"), "login-failed": _l("login failed"),
                     "logout": _l("logged out"), "create": _l("created"), "update": _l("changed"),
                     "export": _l("exported"), "cancel": _l("cancelled"),
                     "shorten": _l("shortened"), "lock": _l("locked"),
                     "set-password": _l("password set"), "import": _l("imported"),
                     "probe": _l("probed now"),
                     "calibration_relearn": _l("normal picture learned again")},
    "entity": {"user": _l("user"), "device": _l("device"), "audit_log": _l("audit log"),
               "maintenance_window": _l("maintenance window"), "contract": _l("contract"),
               "contractor": _l("contractor"), "community": _l("community"),
               "profile": _l("standard profile"), "inventory": _l("inventory")},
    "import_action": {"create": _l("new"), "update": _l("changed"), "unchanged": _l("unchanged")},
    # Image-quality measures (probes/quality) and the profile's rule names.
    "measure": {
        "signal_loss": _l("flat share of the frame"), "blur": _l("edge spread"),
        "blur_vs_reference": _l("edge spread vs reference"), "brightness": _l("brightness"),
        "contrast": _l("contrast"), "contrast_ratio": _l("contrast ratio"),
        "contrast_vs_reference": _l("contrast vs reference"), "color_cast": _l("colour cast"),
        "color_shift": _l("colour shift vs reference"), "noise": _l("noise residual"),
        "noise_vs_reference": _l("noise added since reference"),
        "impulses": _l("impulse noise share"), "impulses_new": _l("new impulse noise"),
        "occlusion": _l("covered share"), "occlusion_new": _l("newly covered share"),
        "stripes": _l("stripe strength"), "stripes_new": _l("new stripe strength"),
        "stripe_tone_new": _l("new stripe tone"), "frozen": _l("change since previous frame"),
        "scene_similarity": _l("similarity to reference"),
        "scene_similarity_axis": _l("similarity to reference along the less similar axis"),
        "scene_shift_pct": _l("view shift (share of the frame)"),
        "cast_vs_normal": _l("colour moved from its learned normal"),
        "noise_vs_normal": _l("noise above its learned normal"),
        "blur_vs_normal": _l("edge spread above its learned normal"),
        "contrast_range": _l("contrast range"), "stripe_tone": _l("stripe tone"),
        "screen": _l("no-signal screen likeness"), "clipped": _l("clipped highlights share"),
        "overexposure": _l("over-exposure"), "overexposure_new": _l("share burnt out since acceptance"),
        "cast_consensus": _l("colour cast (three estimates agree)"),
        "cast_consensus_cool": _l("cool colour cast (three estimates agree)"),
        "cast_consensus_magenta": _l("magenta colour cast (three estimates agree)"),
        "cast_white_magenta": _l("magenta brightest surfaces (white patch)"),
        "cast_vs_reference": _l("colour cast since acceptance"),
        "cast_vs_reference_magenta": _l("magenta colour cast since acceptance"),
        "veil_contrast": _l("tonal range left by a veil"),
        "veil_detail": _l("detail contrast left under a veil"),
        "veil_detail_kept": _l("share of detail contrast kept since acceptance under a veil"),
        "cover_share": _l("share without fine structure (cover at the lens)"),
        "stripes_fine": _l("fine stripe strength (full-resolution crops)"),
        "cover_new": _l("share hidden since acceptance (cover at the lens)"),
        "cover_vs_normal": _l("share hidden against the learned normal view (cover at the lens)"),
        "blur_directional": _l("edge spread along one direction only (shaken camera)"),
        # readings recorded beside the measures (probes.quality.thresholds.READINGS)
        "bars": _l("colour-bar likeness (every column constant)"),
        "blur_edges": _l("edges the edge spread was read on"),
        "cast_consensus_hue": _l("hue of the agreed colour cast (degrees)"),
        "cast_gw_a": _l("grey-world estimate, a (green to red)"),
        "cast_gw_b": _l("grey-world estimate, b (blue to yellow)"),
        "cast_wp_a": _l("white-patch estimate, a (green to red)"),
        "cast_wp_b": _l("white-patch estimate, b (blue to yellow)"),
        "cast_lh_a": _l("least coloured half, median a (green to red)"),
        "cast_lh_b": _l("least coloured half, median b (blue to yellow)"),
        "cast_hue": _l("hue of the neutral pixels' offset (degrees)"),
        "cast_vs_reference_hue": _l("hue of the colour cast since acceptance (degrees)"),
        "channel_clipped": _l("share of pixels with a channel at full scale"),
        "coarse_contrast": _l("coarse contrast (what survives a strong blur)"),
        "cover_rest_detail": _l("fine detail outside the structureless region"),
        "edge_share": _l("share of the view on strong edges"),
        "flat_fraction": _l("share of exactly flat pixels"),
        "mode_share": _l("share of pixels at the commonest level"),
        "scene_dx_px": _l("view shift, horizontal (pixels)"),
        "scene_dy_px": _l("view shift, vertical (pixels)"),
        "scene_phase_response": _l("phase correlation peak against the reference"),
        "scene_shift_px": _l("view shift (pixels)"),
        "screen_code_step": _l("compression rounding step of an even picture (gray levels)"),
        "screen_shading": _l("smooth shading across the view (share of its level)"),
        "screen_shading_levels": _l("smooth shading across the view (gray levels)"),
        "structure_kept": _l("share of the reference's structure kept"),
        "stripe_amp": _l("stripe amplitude (gray levels)"),
        "stripe_period_px": _l("stripe period (pixels)"),
        "stripe_period_analysis_px": _l("stripe period (analysis pixels)"),
        "stripes_fine_period_px": _l("fine stripe period (pixels)"),
        "veil_detail_all": _l("detail contrast in the best-kept tenth of the view"),
        "veil_floor": _l("how far the blacks are lifted"),
        "veil_range": _l("tonal range over the mean level"),
    },
    "rule": {
        "signal_loss": _l("signal loss"), "blur": _l("blur"), "blur_new": _l("blur vs reference"),
        "too_dark": _l("too dark"), "too_bright": _l("too bright"),
        "low_contrast": _l("low contrast"), "low_contrast_new": _l("contrast lost vs reference"),
        "color_cast": _l("colour cast"), "color_shift": _l("colour shift vs reference"),
        "noise": _l("noise"), "noise_gain": _l("noise gain vs reference"),
        "noise_impulses": _l("impulse noise"), "noise_impulses_new": _l("new impulse noise"),
        "occlusion": _l("occlusion"), "occlusion_new": _l("new occlusion"),
        "stripes": _l("stripes"), "stripes_new": _l("new stripes"),
        "stripes_tone_new": _l("new stripe tone"), "frozen": _l("frozen picture"),
        "scene_change": _l("scene changed"), "scene_shift": _l("view shifted"),
        "scene_change_axis": _l("scene changed along one axis"),
        "color_cast_vs_normal": _l("colour cast vs learned normal"),
        "noise_vs_normal": _l("noise vs learned normal"),
        "blur_vs_normal": _l("blur vs learned normal"),
        "signal_loss_screen": _l("no-signal screen"), "too_bright_clipped": _l("over-exposed"),
        "too_bright_clipped_vs_reference": _l("over-exposed since acceptance"),
        "color_cast_consensus": _l("colour cast (three estimates agree)"),
        "color_cast_cool": _l("cool colour cast"),
        "color_cast_magenta": _l("magenta colour cast"),
        "color_cast_white_magenta": _l("magenta colour cast (brightest surfaces)"),
        "color_cast_vs_reference": _l("colour cast since acceptance"),
        "color_cast_vs_reference_magenta": _l("magenta colour cast since acceptance"),
        "low_contrast_veil": _l("veiled picture (misted or dirty dome)"),
        "low_contrast_detail": _l("veiled picture, detail dimmed everywhere (misted or dirty dome)"),
        "low_contrast_kept": _l("veiled picture, detail lost since acceptance (misted or dirty dome)"),
        "occlusion_cover": _l("lens covered (no structure over part of the view)"),
        "stripes_fine": _l("fine interference stripes"),
        "occlusion_cover_new": _l("lens covered since acceptance"),
        "occlusion_cover_vs_normal": _l("lens covered against the learned normal view"),
        "blur_shake": _l("blurred along one direction (shaken camera)"),
    },
    "op": {"above": _l("above"), "below": _l("below")},
    "field": {
        "name": _l("Name"), "serial": _l("Serial"), "kind": _l("Kind"), "role": _l("Role"),
        "vendor": _l("Vendor"), "model": _l("Model"), "ip": _l("IP address"), "mac": _l("MAC"),
        "onvif_port": _l("ONVIF port"), "snmp_port": _l("SNMP port"), "username": _l("Username"),
        "password": _l("Password"), "snmp_community": _l("SNMP community"),
        "snmp_version": _l("SNMP version"), "snmp_user": _l("SNMPv3 user"),
        "snmp_auth_protocol": _l("SNMPv3 authentication"),
        "snmp_priv_protocol": _l("SNMPv3 privacy"), "snmp_auth_key": _l("SNMPv3 auth key"),
        "snmp_priv_key": _l("SNMPv3 privacy key"), "lifecycle": _l("Lifecycle"),
        "community": _l("Community"), "district": _l("District"),
        "community_type": _l("Community type"), "street": _l("Street"),
        "contract": _l("Contract"), "contractor": _l("Contractor"), "upstream": _l("Upstream"),
        "recorded_by": _l("Recorded by"), "installed_on": _l("Installed on"),
        "accepted_on": _l("Accepted on"), "display_name": _l("Display name"),
        "active": _l("Active"), "device": _l("Device"), "start_at": _l("Start"),
        "end_at": _l("End"), "reason": _l("Reason"), "approved_by": _l("Approved by"),
        "type": _l("Type"), "sha256": "SHA-256", "start_month": _l("Start month"),
        "rows": _l("Rows"), "state": _l("State"), "fault": _l("Image fault"),
        "cause": _l("Cause"), "since": _l("From"), "until": _l("To"), "action": _l("Action"),
        "entity": _l("Entity"), "actor": _l("Actor"), "q": _l("Search"),
        "size": _l("Rows per page"), "sort": _l("Sort"), "span": _l("Period"), "created": _l("devices created"), "updated": _l("devices updated"),
        "unchanged": _l("devices unchanged"), "locale": _l("Language"),
    },
}

DOMAINS = tuple(VOCABULARY)


def term(code: Any, domain: str | None = None) -> Any:
    """The translated label of a code ('—' for nothing); unknown codes come back unchanged."""
    if code is None or code == "":
        return "—"
    if isinstance(code, bool):
        return gettext("yes") if code else gettext("no")
    if not isinstance(code, str):
        return code
    if domain is not None:
        hit = VOCABULARY.get(domain, {}).get(code)
        if hit is not None:
            return hit
    for table in VOCABULARY.values():
        if code in table:
            return table[code]
    return code


def known(code: str) -> bool:
    return any(code in table for table in VOCABULARY.values())


# ------------------------------------------------------------------ durations

def duration(seconds: Any) -> str:
    """3分34秒 / 3m 34s; 2天3小时4分 / 2d 3h 4m; None → '—'."""
    if seconds is None:
        return "—"
    if isinstance(seconds, dt.timedelta):
        seconds = seconds.total_seconds()
    total = int(round(float(seconds)))
    sign = "-" if total < 0 else ""
    d, rem = divmod(abs(total), 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    if d:
        text = gettext("%(d)sd %(h)sh %(m)sm", d=d, h=h, m=m)
    elif h:
        text = gettext("%(h)sh %(m)sm", h=h, m=m)
    elif m:
        text = gettext("%(m)sm %(s)ss", m=m, s=s)
    else:
        text = gettext("%(s)ss", s=s)
    return sign + text


# ------------------------------------------------------------------ reasons as sentences

def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_num(v) for v in value)
    return str(value)


def _window_text(value: Any) -> str:
    try:
        return localtime.fmt_local(dt.datetime.fromisoformat(str(value)))
    except (TypeError, ValueError):
        return str(value)


def reason_text(reason: Any) -> str:
    """A probe finding as one sentence in the page's language, with value and limit."""
    if not isinstance(reason, Mapping):
        return str(term(reason)) if isinstance(reason, str) else str(reason)
    code = reason.get("code") or ""
    check = reason.get("check") or ""
    value, limit = reason.get("value"), reason.get("limit")
    kind = reason.get("kind")
    what = str(term(check, "check")) if check else ""
    if code == "image_fault":
        name = str(term(reason.get("fault"), "fault"))
        if value is not None and limit is not None:
            text = gettext("Image fault: %(fault)s (measured %(value)s, limit %(limit)s)",
                           fault=name, value=_num(value), limit=_num(limit))
        else:
            text = gettext("Image fault: %(fault)s", fault=name)
    elif code == "clock_drift":
        text = gettext("Clock off by %(value)s s (tolerance %(limit)s s)",
                       value=_num(value), limit=_num(limit))
    elif code == "retention_short":
        text = gettext("Recordings cover %(value)s days (required %(limit)s)",
                       value=_num(value), limit=_num(limit))
    elif code in ("upstream_down", "upstream") or reason.get("upstream"):
        text = gettext("Its upstream device %(serial)s is offline", serial=reason.get("upstream"))
    elif code == "auth_failed":
        text = gettext("%(check)s login refused: wrong user name or password", check=what)
    elif code in ("onvif_failed", "snmp_failed", "frame_failed"):
        text = gettext("%(check)s check failed: %(kind)s", check=what,
                       kind=term(kind, "error_kind"))
    elif code == "frame_corrupt":
        text = gettext("The test frame could not be decoded")
    elif code == "not_measured":
        text = gettext("%(check)s not measured: the platform was overloaded (not counted against "
                       "the device)", check=what)
    elif code == "not_recorded":
        text = gettext("Not recorded: its NVR %(nvr)s is offline", nvr=reason.get("recorder"))
    elif code == "not_recording":
        text = gettext("The NVR is not recording")
    elif code == "poe_fault":
        text = gettext("PoE fault on port(s) %(ports)s", ports=_num(value))
    elif code == "serial_mismatch":
        text = gettext("The device reports serial %(value)s, not the inventory's", value=value)
    elif code == "rebooted":
        text = gettext("Rebooted (up for %(uptime)s)", uptime=duration(value))
    elif code == "flapping":
        text = gettext("Changed state %(n)s times within %(window)s", n=value,
                       window=duration(reason.get("window_s")))
    elif code == "window":
        text = gettext("Approved maintenance window %(start)s – %(end)s",
                       start=_window_text(reason.get("start")), end=_window_text(reason.get("end")))
    elif check == "batch":
        text = gettext("Not probed (the platform's own limit): %(kind)s", kind=term(code, "error_kind"))
    elif code in VOCABULARY["error_kind"]:
        text = gettext("%(check)s: %(kind)s", check=what or term("reach", "check"),
                       kind=term(code, "error_kind"))
    else:
        text = str(term(code))
    if reason.get("carried"):
        text = gettext("%(text)s (found by an earlier probe)", text=text)
    return text


def reason_raw(reason: Any) -> str:
    """The finding as stored ('check code key=value …'): the details behind the sentence."""
    from supervisor.web.timeline import describe_reason

    return describe_reason(reason, limit=500)


def failure_text(key: str) -> str:
    """A sweep's failure key 'check:kind' (e.g. 'onvif:timeout') as 'ONVIF: timed out'."""
    check, _, kind = str(key).partition(":")
    if not kind:
        return str(term(check))
    return f"{term(check, 'check')}: {term(kind, 'error_kind')}"


def reasons_text(reasons: Iterable[Any] | None) -> str:
    """All findings as one line (exports)."""
    return "; ".join(reason_text(r) for r in (reasons or []))


def audit_value(text: Any) -> Any:
    """A value in an audit diff (as audit_query.show wrote it): booleans, codes and the
    secret mask in the page's language; anything else (names, numbers, times) as it is."""
    value = str(text) if text is not None else ""
    if value in ("true", "false"):
        return gettext("yes") if value == "true" else gettext("no")
    if value.startswith("***"):
        return value.replace("(changed)", gettext("(changed)"))
    if known(value):
        return term(value)
    return value


# ------------------------------------------------------------------ import messages

# The importer (supervisor/inventory) writes its row problems in English with the cell's
# value inside; each known sentence is matched here and said again in the page's language
# with the same values. An unknown sentence is shown as written.
_IMPORT_MESSAGES: tuple[tuple[re.Pattern[str], Any], ...] = tuple(
    (re.compile(pattern), text) for pattern, text in (
        (r"^missing required column$", _l("missing required column")),
        (r"^unknown column, ignored$", _l("unknown column, ignored")),
        (r"^column (?P<column>.+) appears twice$", _l("column %(column)s appears twice")),
        (r"^more than (?P<n>\d+) rows$", _l("more than %(n)s rows")),
        (r"^the file is empty: expected a header row$", _l("the file is empty: expected a header row")),
        (r"^duplicate serial '(?P<serial>.*)' \(also row (?P<row>\d+)\)$",
         _l("duplicate serial %(serial)s (also row %(row)s)")),
        (r"^a device cannot be its own upstream$", _l("a device cannot be its own upstream")),
        (r"^(?P<ip>\S+) is also on row (?P<row>\d+)$", _l("%(ip)s is also on row %(row)s")),
        (r"^(?P<ip>\S+) is also the address of stored device (?P<serial>.+)$",
         _l("%(ip)s is also the address of stored device %(serial)s")),
        (r"^unknown contract '(?P<code>.*)' \(create it first, or import with --create-contracts\)$",
         _l("unknown contract %(code)s: create it first, or tick \u201cCreate unknown contracts\u201d on "
            "the import page (--create-contracts on the command line)")),
        (r"^new contract '(?P<code>.*)' needs a contractor.*$",
         _l("new contract %(code)s needs a contractor: add a contractor column")),
        (r"^contract '(?P<code>.*)' belongs to '(?P<owner>.*)'$",
         _l("contract %(code)s belongs to %(owner)s")),
        (r"^unknown upstream device '(?P<serial>.*)'$", _l("unknown upstream device %(serial)s")),
        (r"^'(?P<value>.*)' is not an IP address$", _l("%(value)s is not an IP address")),
        (r"^'(?P<value>.*)' is not a MAC address.*$",
         _l("%(value)s is not a MAC address (e.g. 00:11:22:aa:bb:cc)")),
        (r"^'(?P<value>.*)' is not a port number \(1-65535\)$",
         _l("%(value)s is not a port number (1-65535)")),
        (r"^'(?P<value>.*)' is not a date.*$", _l("%(value)s is not a date (YYYY-MM-DD)")),
        (r"^unknown (?P<column>\w+) '(?P<value>.*)' \(one of: (?P<allowed>.*)\)$",
         _l("unknown %(column)s %(value)s (one of: %(allowed)s)")),
        (r"^not a readable \.xlsx workbook.*$",
         _l("not a readable .xlsx workbook: save it again from Excel as .xlsx or CSV")),
        (r"^this is an old \.xls workbook.*$", _l("this is an old .xls workbook: save it as .xlsx or CSV")),
        (r"^binary data: expected a CSV text file or an \.xlsx workbook$",
         _l("binary data: expected a CSV text file or an .xlsx workbook")),
        (r"^the file is neither UTF-8 nor GB18030/GBK text.*$",
         _l("the file is neither UTF-8 nor GB18030/GBK text")),
        (r"^SNMP version 3 needs a user$", _l("SNMP version 3 needs a user")),
        (r"^longer than (?P<n>\d+) characters$", _l("longer than %(n)s characters")),
        (r"^contains a control character$", _l("contains a control character")),
    ))


def import_message(text: Any) -> str:
    """An importer problem (English, with values) in the page's language."""
    raw = str(text or "")
    for pattern, template in _IMPORT_MESSAGES:
        m = pattern.match(raw)
        if m:
            values = dict(m.groupdict())
            if "column" in values:
                values["column"] = str(term(values["column"], "field"))
            if "allowed" in values:  # "camera, nvr, …": the codes, as this page names them
                values["allowed"] = gettext(", ").join(
                    str(term(c.strip())) for c in values["allowed"].split(","))
            return str(template) % values if values else str(template)
    return raw


# ------------------------------------------------------------------ wiring

def register(app: Flask) -> None:
    app.jinja_env.filters.update(term=term, reason_text=reason_text, reason_raw=reason_raw,
                                 duration=duration, reasons_text=reasons_text,
                                 failure_text=failure_text, import_message=import_message,
                                 audit_value=audit_value)
    app.jinja_env.globals.update(term=term, duration_text=duration, describe_reason=reason_text)
