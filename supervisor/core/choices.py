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


# A device's secrets: encrypted at rest (EncryptedString columns), write-only in forms and the
# API, never exported, logged or audited in clear, sealed when they cross the Celery broker.
DEVICE_SECRET_FIELDS: tuple[str, ...] = ("password", "snmp_community", "snmp_auth_key", "snmp_priv_key")
# The SNMPv3 keys among them (USM passphrases, at least 8 characters: RFC 3414 2.6).
SNMP_V3_KEY_FIELDS: tuple[str, ...] = ("snmp_auth_key", "snmp_priv_key")
