"""The typed result contract of the probes: what the platform codes against.

Plain dataclasses with no I/O. Every class round-trips through JSON-safe dicts
(``to_dict()`` / ``from_dict()``) so results can cross a Celery boundary; datetimes
travel as ISO-8601 strings (always UTC), bytes and decoded images do not travel.
Secrets (device and SNMP credentials) are hidden from ``repr`` so a logged target
never leaks them; ``DeviceTarget.to_dict()`` does carry them (a worker needs them)
unless ``redact=True``.
"""
from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional, TypeVar

# Error kinds, sorted by what to do about them (STYLE.md):
#   try later (transport):   timeout, refused, unreachable, reset
#   check credentials:       auth
#   device misbehaves:       malformed (bad XML / truncated / not UTF-8), fault (SOAP/SNMP error)
#   feature absent:          unsupported
#   our bug:                 internal
#   not the device's:        not_measured (the platform was overloaded or out of time:
#                            the check says nothing about the device)
ERROR_KINDS: tuple[str, ...] = (
    "timeout", "refused", "unreachable", "reset",
    "auth",
    "malformed", "fault",
    "unsupported",
    "internal",
    "not_measured",
)
TRANSIENT_KINDS = frozenset({"timeout", "refused", "unreachable", "reset"})

CHECKS: tuple[str, ...] = ("reach", "onvif", "snmp", "frame", "ptz")
ONVIF_ASK: tuple[str, ...] = ("clock", "identity", "media", "recordings")

_NO_JSON = {"json": False}          # field metadata: never serialised
_SECRET = {"secret": True}          # field metadata: hidden from repr, redactable

T = TypeVar("T")


# ---------------------------------------------------------------- (de)serialisation

def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return value.to_dict()
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


def _decode(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(args[0], value) if len(args) == 1 else value
    if origin in (list, tuple):
        (inner, *_) = typing.get_args(tp) or (Any,)
        return [_decode(inner, v) for v in value]
    if origin is dict:
        _, inner = typing.get_args(tp) or (Any, Any)
        return {k: _decode(inner, v) for k, v in value.items()}
    if tp is datetime:
        return _utc(datetime.fromisoformat(value)) if isinstance(value, str) else value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp.from_dict(value)
    return value


@functools.lru_cache(maxsize=None)
def _type_hints(cls: type) -> dict[str, Any]:
    """Resolved field types per class, once: get_type_hints() costs ~0.1 ms a call, and the
    platform decodes thousands of results per sweep when they come back from Celery."""
    return typing.get_type_hints(cls)


class _Serial:
    """Mixin: ``to_dict`` / ``from_dict`` driven by the dataclass fields and hints."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.metadata.get("json", True):
                out[f.name] = _encode(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any] | None) -> T:
        if data is None:
            return None  # type: ignore[return-value]
        hints = _type_hints(cls)
        kwargs = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in data and f.metadata.get("json", True) and f.init:
                kwargs[f.name] = _decode(hints[f.name], data[f.name])
        return cls(**kwargs)  # unknown keys are ignored: newer workers may add fields


# ---------------------------------------------------------------- input

@dataclass
class DeviceTarget(_Serial):
    """One device to probe: where it is and how to log in. No database identity."""

    serial: str
    host: str
    kind: str = "camera"                      # camera | nvr | switch | speaker
    onvif_port: Optional[int] = None
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False, metadata=_SECRET)
    snmp_port: Optional[int] = None
    # "2c" | "3" | "1" (a v1-only agent: GETNEXT walks) | "auto" (v2c, else try v1)
    snmp_version: str = "2c"
    snmp_community: Optional[str] = field(default=None, repr=False, metadata=_SECRET)
    snmp_user: Optional[str] = None
    snmp_auth_key: Optional[str] = field(default=None, repr=False, metadata=_SECRET)
    snmp_priv_key: Optional[str] = field(default=None, repr=False, metadata=_SECRET)
    snmp_auth_protocol: str = "SHA"           # MD5 | SHA | SHA224..SHA512
    snmp_priv_protocol: str = "AES"           # DES | AES (=AES128) | AES192 | AES256
    expected_serial: Optional[str] = None
    # Extra TCP ports to try in the reach check (e.g. 554 for RTSP); onvif/http first.
    extra_ports: list[int] = field(default_factory=list)
    # snapshot/stream URI known from inventory or a previous probe (skips an ONVIF lookup)
    snapshot_uri: Optional[str] = None
    stream_uri: Optional[str] = None
    # What the ONVIF check asks this time (ONVIF_ASK): None = everything. The sweep asks
    # the clock every time and identity, services, profiles/URIs and recordings only when
    # it has no recent answer (what does not change is not asked on every sweep).
    onvif_ask: Optional[list[str]] = None

    def to_dict(self, redact: bool = False) -> dict[str, Any]:  # type: ignore[override]
        out = super().to_dict()
        if redact:
            for f in dataclasses.fields(self):
                if f.metadata.get("secret") and out.get(f.name) is not None:
                    out[f.name] = "***"
        return out

    def tcp_ports(self) -> list[int]:
        """Ports the reach check tries, in order, without duplicates."""
        ports = [p for p in (self.onvif_port,) if p]
        ports += [p for p in self.extra_ports if p]
        return list(dict.fromkeys(ports))


# ---------------------------------------------------------------- results

@dataclass
class ProbeError(_Serial):
    """A failure as a value. ``kind`` is one of ERROR_KINDS; ``check`` says which probe."""

    kind: str
    message: str
    check: Optional[str] = None

    def __post_init__(self) -> None:
        if self.kind not in ERROR_KINDS:
            self.message = f"[{self.kind}] {self.message}"
            self.kind = "internal"
        # Messages come from devices; keep them bounded and printable.
        self.message = str(self.message)[:500]

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT_KINDS


@dataclass
class ReachResult(_Serial):
    ok: bool
    rtt_ms: Optional[float] = None            # best TCP connect time among open ports
    ports_open: list[int] = field(default_factory=list)
    ports_failed: dict[str, str] = field(default_factory=dict)   # "port" -> error kind
    icmp: Optional[bool] = None               # None: not tried (no raw socket permission)
    icmp_rtt_ms: Optional[float] = None
    error: Optional[ProbeError] = None


@dataclass
class MediaProfile(_Serial):
    token: str
    name: Optional[str] = None
    encoding: Optional[str] = None            # H264 | H265 | JPEG | ...
    width: Optional[int] = None
    height: Optional[int] = None
    fps: Optional[float] = None
    bitrate_kbps: Optional[int] = None
    snapshot_uri: Optional[str] = None
    stream_uri: Optional[str] = None


@dataclass
class RecordingSummary(_Serial):
    """An NVR's recordings (ONVIF Profile G), summarised for the retention rule.

    ``recording_now`` is True only when every recording is still recording;
    ``stopped`` names those that are not (their source name, else their token).
    ``min_span_days`` is the shortest recording's span: retention is only as good
    as the worst channel.
    """

    count: int = 0
    earliest: Optional[datetime] = None
    latest: Optional[datetime] = None
    recording_now: Optional[bool] = None
    span_days: Optional[float] = None
    min_span_days: Optional[float] = None
    stopped: list[str] = field(default_factory=list)


@dataclass
class OnvifResult(_Serial):
    ok: bool
    error: Optional[ProbeError] = None         # the failure that stopped the probe
    warnings: list[ProbeError] = field(default_factory=list)   # sub-calls that failed
    manufacturer: Optional[str] = None
    model: Optional[str] = None
    firmware_version: Optional[str] = None
    serial_number: Optional[str] = None
    hardware_id: Optional[str] = None
    serial_mismatch: Optional[bool] = None     # None when no expected serial was given
    device_time: Optional[datetime] = None     # device clock, UTC
    clock_offset_s: Optional[float] = None     # device - platform, corrected by RTT/2
    clock_rtt_s: Optional[float] = None
    # The offset is clock_offset_s ± clock_uncertainty_s (half a second of ONVIF's
    # whole-second resolution plus half the round trip, narrowed by further readings:
    # probes.clock); clock_reads says how many readings it rests on.
    clock_uncertainty_s: Optional[float] = None
    clock_reads: Optional[int] = None
    # What was asked this time (see DeviceTarget.onvif_ask) and when the identity was
    # last read from the device (carried over by the sweep when not asked again).
    asked: Optional[list[str]] = None
    identity_read_at: Optional[datetime] = None
    timezone: Optional[str] = None
    ntp: Optional[bool] = None                 # NTP configured (DateTimeType == NTP)
    ntp_servers: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)  # namespaces from GetServices
    capabilities: list[str] = field(default_factory=list)  # e.g. media, ptz, recording
    service_addresses: dict[str, str] = field(default_factory=dict)  # short name -> XAddr
    profiles: list[MediaProfile] = field(default_factory=list)
    snapshot_uri: Optional[str] = None
    stream_uri: Optional[str] = None
    recordings: Optional[RecordingSummary] = None


@dataclass
class PortStatus(_Serial):
    index: int
    name: Optional[str] = None
    oper_status: Optional[str] = None          # up | down | testing | unknown | dormant | ...
    admin_status: Optional[str] = None
    speed_mbps: Optional[int] = None
    in_errors: Optional[int] = None
    out_errors: Optional[int] = None
    in_discards: Optional[int] = None
    out_discards: Optional[int] = None
    # Octet counters: ifHCIn/OutOctets (Counter64) where the agent has ifXTable, else
    # ifIn/OutOctets (Counter32); ``counter_bits`` says which, so deltas wrap right.
    in_octets: Optional[int] = None
    out_octets: Optional[int] = None
    counter_bits: Optional[int] = None


@dataclass
class PoePort(_Serial):
    index: int                                 # pethPsePortIndex (group.port flattened)
    group: int = 1
    admin_enabled: Optional[bool] = None
    detection_status: Optional[str] = None     # disabled | searching | deliveringPower | fault | test | otherFault
    power_class: Optional[int] = None
    # The interface this PSE port feeds (RFC 3621 indexes PSE ports by group.port, not by
    # ifIndex) and how it was found: "ifname" (ifName ends in group/port) | "index"
    # (assumed pethPsePortIndex == ifIndex) | None (no interface matched).
    if_index: Optional[int] = None
    if_mapping: Optional[str] = None

    @property
    def faulty(self) -> bool:
        return self.detection_status in ("fault", "otherFault")


@dataclass
class SnmpResult(_Serial):
    ok: bool
    error: Optional[ProbeError] = None
    warnings: list[ProbeError] = field(default_factory=list)
    sys_descr: Optional[str] = None
    sys_object_id: Optional[str] = None
    sys_uptime_s: Optional[float] = None
    sys_name: Optional[str] = None
    ports: list[PortStatus] = field(default_factory=list)
    poe: list[PoePort] = field(default_factory=list)
    rtt_ms: Optional[float] = None
    # "supported" | "unsupported" (no POWER-ETHERNET-MIB: not an error) | None (not asked)
    poe_support: Optional[str] = None
    snmp_version: Optional[str] = None        # the version that answered: "1" | "2c" | "3"
    walk: Optional[str] = None                # "getbulk" | "getnext": how tables were read


@dataclass
class FrameResult(_Serial):
    ok: bool
    error: Optional[ProbeError] = None
    source: Optional[str] = None               # snapshot | rtsp
    uri: Optional[str] = None                  # without credentials
    width: Optional[int] = None
    height: Optional[int] = None
    grabbed_at: Optional[datetime] = None
    size_bytes: Optional[int] = None
    content_type: Optional[str] = None
    # Evidence and pixels stay in-process (a sweep hands them to probes.quality).
    jpeg: Optional[bytes] = field(default=None, repr=False, metadata=_NO_JSON)
    image: Any = field(default=None, repr=False, metadata=_NO_JSON)   # numpy BGR array

    def decode(self) -> Any:
        """The BGR image (numpy), decoding ``jpeg`` if the grab did not (tier decode off)."""
        if self.image is None and self.jpeg:
            import cv2
            import numpy as np
            self.image = cv2.imdecode(np.frombuffer(self.jpeg, dtype=np.uint8),
                                      cv2.IMREAD_COLOR)
        return self.image


@dataclass
class PtzResult(_Serial):
    """Optional PTZ check: moved a little, did the picture move, did it come back."""

    ok: bool
    error: Optional[ProbeError] = None
    moved: Optional[bool] = None
    returned: Optional[bool] = None
    change_moved: Optional[float] = None      # mean |grey difference| first vs moved
    change_back: Optional[float] = None       # first vs after moving back
    position_before: Optional[list[float]] = None
    position_after: Optional[list[float]] = None


@dataclass
class ProbeResult(_Serial):
    serial: str
    tier: str
    started_at: datetime
    finished_at: datetime
    reach: Optional[ReachResult] = None
    onvif: Optional[OnvifResult] = None
    snmp: Optional[SnmpResult] = None
    frame: Optional[FrameResult] = None
    error: Optional[ProbeError] = None         # batch-level: deadline passed, internal crash
    ptz: Optional[PtzResult] = None            # only when the tier asks for "ptz"
    # Checks the platform could not measure (kind "not_measured": its own overload); their
    # part stays None, so nothing here is a judgement of the device.
    not_measured: list[ProbeError] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def parts(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in CHECKS if getattr(self, c) is not None}

    def errors(self) -> list[ProbeError]:
        """Every failure in this result (the stopping ones, not warnings)."""
        errs = [self.error] if self.error else []
        for name, part in self.parts().items():
            if part.error is not None:
                err = part.error
                errs.append(err if err.check else ProbeError(err.kind, err.message, name))
        return errs

    def error_kinds(self) -> set[str]:
        return {e.kind for e in self.errors()}

    @property
    def reachable(self) -> Optional[bool]:
        """True/False from the reach check, else inferred from any answering protocol."""
        if self.reach is not None:
            return self.reach.ok
        answered = [p.ok for p in (self.onvif, self.snmp, self.frame, self.ptz)
                    if p is not None]
        return any(answered) if answered else None

    @property
    def ok(self) -> bool:
        return self.error is None and all(p.ok for p in self.parts().values())
