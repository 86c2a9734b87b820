"""Named constants shared by models, forms, imports and reports (see DESIGN.md vocabulary)."""
from __future__ import annotations


class Choices:
    """A small class of named constants; `values()` lists them in declaration order."""

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(v for k, v in vars(cls).items() if k.isupper() and isinstance(v, str))


class DeviceKind(Choices):
    CAMERA = "camera"
    NVR = "nvr"
    SWITCH = "switch"
    SPEAKER = "speaker"


class CameraRole(Choices):
    ENTRANCE = "entrance"
    ROAD = "road"
    PERIMETER = "perimeter"
    HIGH_ALTITUDE = "high_altitude"
    FIRE_LANE = "fire_lane"
    INTERIOR = "interior"


class CommunityType(Choices):
    OPEN = "open"
    CLOSED = "closed"
    SINGLE_BUILDING = "single_building"


class Lifecycle(Choices):
    PLANNED = "planned"
    INSTALLED = "installed"
    ACCEPTED = "accepted"
    RETIRED = "retired"


class Role(Choices):
    POLICE = "police"
    CONTRACTOR = "contractor"
    OFFICIAL = "official"


class DeviceState(Choices):
    OK = "ok"
    DEGRADED = "degraded"
    OFFLINE = "offline"
    UNKNOWN = "unknown"
    MAINTENANCE = "maintenance"


IMAGE_FAULTS: tuple[str, ...] = (
    "signal_loss", "blur", "too_dark", "too_bright", "low_contrast", "color_cast",
    "noise", "occlusion", "stripes", "frozen", "scene_change",
)
