"""Fault vocabulary, per-device runtime state and the ground-truth log.

A device's behaviour at an instant is a pure function of its faults, their parameters
and the time (see `DeviceState.reach`), so sockets, ONVIF, SNMP and frames all ask the
same question and agree.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from .fleet import DeviceSpec
from .ptz import PtzHead

REACH_FAULTS = ("offline", "refused", "flap", "reboot")
HTTP_FAULTS = ("slow", "malformed_xml", "non_utf8_xml", "truncated_http", "bad_credentials")
CLOCK_FAULTS = ("clock_drift", "wrong_timezone")
PICTURE_FAULTS = ("signal_loss", "blur", "too_dark", "too_bright", "low_contrast",
                  "color_cast", "noise", "occlusion", "stripes", "frozen", "scene_change")
# poe_fault: the switch port powering the device reports a PoE fault
# (pethPsePortDetectionStatus = fault(4)) and cuts its power, so the device drops.
# no_snapshot: firmware without snapshots (GetSnapshotUri not supported, the URL 404s):
# a client must fall back to the RTSP stream.
OTHER_FAULTS = ("recording_loss", "ptz_stuck", "poe_fault", "no_snapshot")
# What an acceptance run must catch: default_password (the device also accepts its
# vendor's factory login, VENDOR_DEFAULT_LOGINS), low_resolution (main stream encoder set
# to 1280x720), no_ntp (DateTimeType Manual), short_retention (an NVR keeps only
# `retention_days` days).
ACCEPTANCE_FAULTS = ("default_password", "low_resolution", "no_ntp", "short_retention")
VENDOR_DEFAULT_LOGINS = {"Hikvision": ("admin", "12345"), "Dahua": ("admin", "admin"),
                         "Uniview": ("admin", "123456"), "Huawei": ("admin", "admin@huawei.com"),
                         "H3C": ("admin", "admin"), "TP-Link": ("admin", "admin"),
                         "SPON": ("admin", "admin")}
# Quirks: not faults but ways real firmwares differ from the ONVIF happy path, opt-in per
# device so clients are tested against them over real sockets (simulator/quirks.py).
QUIRKS = ("soap_http_digest",      # SOAP needs HTTP Digest (401 challenge); WS-Security ignored
          "soap_http_digest_all",  # the same, GetSystemDateAndTime included
          "local_time_only",       # GetSystemDateAndTime: LocalDateTime only, TZ "CST-8"
          "local_time_iana",       # the same with an IANA TZ ("Asia/Shanghai")
          "media2_only",           # GetServices lists ver20 media only; ver10 media refused
          "media10_broken",        # lists ver10 and ver20 media; ver10 ops refused anyway
          "no_get_services",       # GetServices -> ActionNotSupported
          "no_get_capabilities",   # GetCapabilities -> ActionNotSupported
          "foreign_xaddr",         # XAddrs/URIs name another host (NAT) and other paths
          "soap11_envelopes",      # every answer a SOAP 1.1 envelope (faults too)
          "soap11_faults",         # faults as SOAP 1.1 envelopes with HTTP 500
          "plain_http_errors",     # faults as plain text: 401 (auth) / 400 (others)
          "html_login",            # every SOAP request answered 200 with an HTML login page
          "snapshot_basic",        # snapshot needs Basic auth, not Digest
          "snapshot_uri_creds",    # snapshot URI carries user:password@
          "snapshot_wrong_ctype")  # JPEG served as text/plain
VIDEO_QUIRKS = ("media2_only", "media10_broken", "snapshot_basic", "snapshot_uri_creds", "snapshot_wrong_ctype")
ALL_FAULTS = (REACH_FAULTS + HTTP_FAULTS + CLOCK_FAULTS + PICTURE_FAULTS + OTHER_FAULTS
              + ACCEPTANCE_FAULTS + QUIRKS)

# Parameters a fault may carry, with defaults (seconds unless named otherwise).
DEFAULT_PARAMS: dict[str, float] = {
    "clock_offset_s": 600.0,      # clock_drift: device clock minus true clock
    "timezone_offset_h": 8.0,     # wrong_timezone: local time reported as UTC
    "slow_s": 3.0,                # slow: extra delay before every answer
    "flap_period_s": 4.0,         # flap: alternately up and down for this long
    "reboot_s": 5.0,              # reboot: ports closed this long, then uptime restarts
    "retention_days": 7.0,        # short_retention: days an NVR keeps
    # Not a fault: this device's WS-Security Created window (the fleet's --wsse-window
    # applies when unset); the value here is only the fallback for param().
    "wsse_window_s": 60.0,
}


def fault_misfit(spec: DeviceSpec, fault: str) -> str | None:
    """Why ``fault`` cannot happen on this device, or None when it can."""
    if fault == "ptz_stuck" and not spec.ptz:
        return f"ptz_stuck: {spec.serial} has no PTZ head"
    if fault in VIDEO_QUIRKS and spec.kind not in ("camera", "nvr"):
        return f"{fault}: {spec.serial} has no video"
    if fault == "no_snapshot" and spec.kind not in ("camera", "nvr"):
        return f"no_snapshot: {spec.serial} has no video"
    if fault == "short_retention" and spec.kind != "nvr":
        return f"short_retention: {spec.serial} is not an NVR"
    if fault == "low_resolution" and spec.kind != "camera":
        return f"low_resolution: {spec.serial} is not a camera"
    if fault == "poe_fault" and (not spec.upstream or spec.switch_port is None):
        return f"poe_fault: {spec.serial} is not powered from a switch port"
    return None


def utc_iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TruthLog:
    """JSON lines of fault intervals. A line with "end": null is written when a fault
    starts; the same (serial, fault, start) is written again with its end when it stops.
    Readers keep the last line per (serial, fault, start)."""

    def __init__(self, path: str | None):
        self._fh: TextIO | None = open(path, "a", encoding="utf-8") if path else None
        self._lock = threading.Lock()

    def write(self, serial: str, fault: str, start: float, end: float | None,
              **extra: Any) -> None:
        if self._fh is None:
            return
        rec = {"serial": serial, "fault": fault, "start": utc_iso(start),
               "end": utc_iso(end) if end is not None else None, **extra}
        with self._lock:
            self._fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


@dataclass
class DeviceState:
    """Runtime state of one device: the spec plus faults and clocks."""
    spec: DeviceSpec
    boot_time: float = field(default_factory=time.time)
    faults: dict[str, float] = field(default_factory=dict)   # fault -> start (epoch)
    params: dict[str, float] = field(default_factory=dict)
    frozen_jpeg: bytes | None = None
    upstream_state: "DeviceState | None" = None
    # Set by the fleet when the device's sockets are in a given mode.
    applied_reach: str = "up"
    ptz: PtzHead | None = None                # PTZ cameras only (spec.ptz)
    reboots: int = 0                          # reboot faults so far (snmpEngineBoots)
    rtsp_port: int | None = None              # set when the RTSP helper streams this camera
    stuck_view: tuple[float, float] | None = None   # optical pan/tilt under ptz_stuck
    tint: str | None = None                   # coloured scene light (frames.TINTS), not a fault

    def __post_init__(self) -> None:
        if self.spec.ptz and self.ptz is None:
            self.ptz = PtzHead()

    def view_position(self, now: float) -> tuple[float, float] | None:
        """Where the lens points (pan, tilt), or None for a fixed camera."""
        if self.ptz is None:
            return None
        if "ptz_stuck" in self.faults and self.stuck_view is not None:
            return self.stuck_view
        return self.ptz.position(now)

    def param(self, name: str) -> float:
        return float(self.params.get(name, DEFAULT_PARAMS[name]))

    def has(self, fault: str) -> bool:
        return fault in self.faults

    def own_reach(self, now: float) -> str:
        """'up', 'drop' (no answer at all) or 'refuse' (RST), from own faults only."""
        f = self.faults
        if "offline" in f or "poe_fault" in f:
            return "drop"
        if "refused" in f:
            return "refuse"
        if "reboot" in f and now < self.boot_time:
            return "refuse"
        if "flap" in f:
            period = max(0.2, self.param("flap_period_s"))
            if int((now - f["flap"]) / period) % 2 == 1:
                return "drop"
        return "up"

    def reach(self, now: float) -> str:
        """Own reach, then the network and power path: a switch, or an NVR whose PoE ports
        feed the device, that is not reachable takes the device with it."""
        own = self.own_reach(now)
        if own != "up":
            return own
        up = self.upstream_state
        if up is not None and up.spec.kind in ("switch", "nvr") and up.reach(now) != "up":
            return "drop"
        return "up"

    def uptime_s(self, now: float) -> float:
        return max(0.0, now - self.boot_time)

    def device_clock(self, now: float) -> float:
        """The epoch time the device believes it is (UTC)."""
        t = now
        if "clock_drift" in self.faults:
            t += self.param("clock_offset_s")
        if "wrong_timezone" in self.faults:
            # Local wall time typed in as if it were UTC: the UTC clock runs ahead.
            t += self.param("timezone_offset_h") * 3600.0
        return t

    def time_dependent(self) -> bool:
        return "flap" in self.faults or "reboot" in self.faults
