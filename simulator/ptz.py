"""A PTZ (pan/tilt) head for the cameras that have one, and its ONVIF PTZ answers.

The motor is modelled as motion segments: position(t) = start + velocity * (t - t0) until
t1, clamped to the generic space [-1, 1]. RelativeMove/AbsoluteMove move at a fixed speed
(so GetStatus shows MOVING for a short while, as on a real dome), ContinuousMove moves
until Stop or its timeout. The snapshot uses the *optical* position: normally the
motor's, but under the ``ptz_stuck`` fault the picture stays where it was when the fault
began while the firmware still reports the commanded position (a slipped gear or a dead
motor whose controller does not notice): only comparing frames catches it.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from lxml import etree

NS_PTZ = "http://www.onvif.org/ver20/ptz/wsdl"
PTZ_OPS = {"GetNodes", "GetNode", "GetConfigurations", "GetConfiguration", "GetStatus",
           "RelativeMove", "AbsoluteMove", "ContinuousMove", "Stop"}
MOVE_SPEED = 2.0            # generic units per second for relative/absolute moves
CONTINUOUS_SPEED = 1.0      # generic units per second at velocity 1
DEFAULT_TIMEOUT_S = 5.0     # DefaultPTZTimeout of the configuration
SPACE = "http://www.onvif.org/ver10/tptz/PanTiltSpaces"


def _clamp(v: float) -> float:
    return max(-1.0, min(1.0, v))


@dataclass
class PtzHead:
    """Pan/tilt motor state of one camera (generic space, -1..1 both axes)."""
    x0: float = 0.0
    y0: float = 0.0
    vx: float = 0.0
    vy: float = 0.0
    t0: float = 0.0
    t1: float = 0.0
    x1: float = 0.0          # where the segment ends (exact, no float drift)
    y1: float = 0.0

    def position(self, now: float) -> tuple[float, float]:
        if now >= self.t1:
            return self.x1, self.y1
        t = max(now, self.t0) - self.t0
        return _clamp(self.x0 + self.vx * t), _clamp(self.y0 + self.vy * t)

    def moving(self, now: float) -> bool:
        if now >= self.t1 or (self.vx == 0 and self.vy == 0):
            return False
        # A continuous move pressed against a limit has stopped in practice.
        x, y = self.position(now)
        return not ((self.vx == 0 or abs(x) >= 1.0) and (self.vy == 0 or abs(y) >= 1.0))

    def _segment(self, now: float, vx: float, vy: float, duration: float,
                 end: tuple[float, float] | None = None) -> None:
        self.x0, self.y0 = self.position(now)
        duration = max(0.0, duration)
        self.vx, self.vy, self.t0, self.t1 = vx, vy, now, now + duration
        self.x1, self.y1 = end or (_clamp(self.x0 + vx * duration), _clamp(self.y0 + vy * duration))

    def absolute(self, x: float, y: float, now: float) -> None:
        px, py = self.position(now)
        x, y = _clamp(x), _clamp(y)
        dur = max(abs(x - px), abs(y - py)) / MOVE_SPEED
        if dur <= 0:
            self.stop(now)
            return
        self._segment(now, (x - px) / dur, (y - py) / dur, dur, (x, y))

    def relative(self, dx: float, dy: float, now: float) -> None:
        px, py = self.position(now)
        self.absolute(px + dx, py + dy, now)

    def continuous(self, vx: float, vy: float, timeout_s: float, now: float) -> None:
        self._segment(now, _clamp(vx) * CONTINUOUS_SPEED, _clamp(vy) * CONTINUOUS_SPEED,
                      timeout_s)

    def stop(self, now: float) -> None:
        self._segment(now, 0.0, 0.0, 0.0)


class PtzError(Exception):
    """Maps to a SOAP fault: (subcode, reason)."""

    def __init__(self, subcode: str, reason: str):
        super().__init__(reason)
        self.subcode, self.reason = subcode, reason


_DURATION = re.compile(r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?"
                       r"(?:(\d+(?:\.\d+)?)S)?)?$")


def parse_duration(text: str) -> float:
    """xs:duration (days/hours/minutes/seconds only) to seconds."""
    m = _DURATION.match(text.strip())
    if not m or text.strip() in ("P", "PT"):
        raise PtzError("ter:InvalidArgVal", f"bad duration {text!r}")
    d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return d * 86400 + h * 3600 + mi * 60 + s


def _vector(op: etree._Element, name: str) -> tuple[float, float] | None:
    """The PanTilt x/y of child ``name`` (Translation, Position, Velocity), or None."""
    for el in op:
        if etree.QName(el).localname != name:
            continue
        for sub in el:
            if etree.QName(sub).localname == "PanTilt":
                try:
                    return float(sub.get("x", "0")), float(sub.get("y", "0"))
                except ValueError:
                    raise PtzError("ter:InvalidArgVal", "PanTilt x/y not numbers") from None
        return None
    return None


def _child_text(op: etree._Element, name: str) -> str | None:
    for el in op:
        if etree.QName(el).localname == name:
            return (el.text or "").strip()
    return None


def _ranges(kind: str) -> str:
    uri = {"abs": "PositionGenericSpace", "rel": "TranslationGenericSpace",
           "cont": "VelocityGenericSpace"}[kind]
    tag = {"abs": "AbsolutePanTiltPositionSpace", "rel": "RelativePanTiltTranslationSpace",
           "cont": "ContinuousPanTiltVelocitySpace"}[kind]
    return (f"<tt:{tag}><tt:URI>{SPACE}/{uri}</tt:URI>"
            "<tt:XRange><tt:Min>-1</tt:Min><tt:Max>1</tt:Max></tt:XRange>"
            "<tt:YRange><tt:Min>-1</tt:Min><tt:Max>1</tt:Max></tt:YRange>"
            f"</tt:{tag}>")


NODE = ('<tptz:PTZNode token="PTZNode_1" FixedHomePosition="false"><tt:Name>PTZ</tt:Name>'
        "<tt:SupportedPTZSpaces>" + _ranges("abs") + _ranges("rel") + _ranges("cont")
        + f"<tt:PanTiltSpeedSpace><tt:URI>{SPACE}/GenericSpeedSpace</tt:URI>"
        "<tt:XRange><tt:Min>0</tt:Min><tt:Max>1</tt:Max></tt:XRange></tt:PanTiltSpeedSpace>"
        "</tt:SupportedPTZSpaces><tt:MaximumNumberOfPresets>255</tt:MaximumNumberOfPresets>"
        "<tt:HomeSupported>false</tt:HomeSupported></tptz:PTZNode>")


def configuration(tag: str = "tt:PTZConfiguration") -> str:
    """The one PTZ configuration (also embedded in the media profiles)."""
    return (f'<{tag} token="PTZConfig_1"><tt:Name>PTZ</tt:Name><tt:UseCount>2</tt:UseCount>'
            "<tt:NodeToken>PTZNode_1</tt:NodeToken>"
            f"<tt:DefaultAbsolutePantTiltPositionSpace>{SPACE}/PositionGenericSpace"
            "</tt:DefaultAbsolutePantTiltPositionSpace>"
            f"<tt:DefaultRelativePanTiltTranslationSpace>{SPACE}/TranslationGenericSpace"
            "</tt:DefaultRelativePanTiltTranslationSpace>"
            f"<tt:DefaultContinuousPanTiltVelocitySpace>{SPACE}/VelocityGenericSpace"
            "</tt:DefaultContinuousPanTiltVelocitySpace>"
            f'<tt:DefaultPTZSpeed><tt:PanTilt x="1" y="1" space="{SPACE}/GenericSpeedSpace"/>'
            "</tt:DefaultPTZSpeed>"
            f"<tt:DefaultPTZTimeout>PT{int(DEFAULT_TIMEOUT_S)}S</tt:DefaultPTZTimeout>"
            "<tt:PanTiltLimits><tt:Range>"
            f"<tt:URI>{SPACE}/PositionGenericSpace</tt:URI>"
            "<tt:XRange><tt:Min>-1</tt:Min><tt:Max>1</tt:Max></tt:XRange>"
            "<tt:YRange><tt:Min>-1</tt:Min><tt:Max>1</tt:Max></tt:YRange>"
            f"</tt:Range></tt:PanTiltLimits></{tag}>")


def _utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def answer(head: PtzHead, op_name: str, op: etree._Element, now: float, clock: float,
           profile_tokens: set[str]) -> str:
    """The SOAP body for one PTZ operation (``clock`` is the device's own UTC time)."""
    if op_name in ("GetNodes", "GetNode"):
        if op_name == "GetNode" and _child_text(op, "NodeToken") != "PTZNode_1":
            raise PtzError("ter:InvalidArgVal/ter:NoEntity", "no such PTZ node")
        return f"<tptz:{op_name}Response>{NODE}</tptz:{op_name}Response>"
    if op_name == "GetConfigurations":
        return ("<tptz:GetConfigurationsResponse>" + configuration("tptz:PTZConfiguration")
                + "</tptz:GetConfigurationsResponse>")
    if op_name == "GetConfiguration":
        if _child_text(op, "PTZConfigurationToken") != "PTZConfig_1":
            raise PtzError("ter:InvalidArgVal/ter:NoConfig", "no such PTZ configuration")
        return ("<tptz:GetConfigurationResponse>" + configuration("tptz:PTZConfiguration")
                + "</tptz:GetConfigurationResponse>")
    token = _child_text(op, "ProfileToken")
    if token not in profile_tokens:
        raise PtzError("ter:InvalidArgVal/ter:NoProfile", f"no profile {token!r}")
    if op_name == "GetStatus":
        x, y = head.position(now)
        state = "MOVING" if head.moving(now) else "IDLE"
        return ("<tptz:GetStatusResponse><tptz:PTZStatus><tt:Position>"
                f'<tt:PanTilt x="{x:.6g}" y="{y:.6g}" space="{SPACE}/PositionGenericSpace"/>'
                f"</tt:Position><tt:MoveStatus><tt:PanTilt>{state}</tt:PanTilt></tt:MoveStatus>"
                f"<tt:UtcTime>{_utc(clock)}</tt:UtcTime>"
                "</tptz:PTZStatus></tptz:GetStatusResponse>")
    if op_name == "RelativeMove":
        v = _vector(op, "Translation")
        if v is None:
            raise PtzError("ter:InvalidArgVal", "RelativeMove needs a PanTilt translation")
        head.relative(v[0], v[1], now)
    elif op_name == "AbsoluteMove":
        v = _vector(op, "Position")
        if v is None:
            raise PtzError("ter:InvalidArgVal", "AbsoluteMove needs a PanTilt position")
        head.absolute(v[0], v[1], now)
    elif op_name == "ContinuousMove":
        v = _vector(op, "Velocity")
        if v is None:
            raise PtzError("ter:InvalidArgVal", "ContinuousMove needs a PanTilt velocity")
        t = _child_text(op, "Timeout")
        head.continuous(v[0], v[1], parse_duration(t) if t else DEFAULT_TIMEOUT_S, now)
    elif op_name == "Stop":
        pan = _child_text(op, "PanTilt")
        if pan is None or pan.lower() in ("true", "1"):
            head.stop(now)
    return f"<tptz:{op_name}Response/>"
