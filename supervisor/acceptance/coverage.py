"""Role-slot coverage of a community: the profile's required slots for its type against
the accepted, online devices whose main stream meets the slot's minimum resolution."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional


@dataclass
class SlotDevice:
    serial: str
    role: Optional[str]
    accepted: bool
    online: bool
    width: Optional[int] = None
    height: Optional[int] = None


def compute(slots: dict[str, Any], devices: list[SlotDevice]) -> dict[str, Any]:
    """{"required", "filled", "figure", "missing", "slots": [{"role", "required",
    "min_resolution", "filled", "devices", "missing"}]}. Each device fills at most one slot
    (its own role); extra devices of a role do not fill another role's slot."""
    rows = []
    req_total = filled_total = 0
    for role, slot in sorted(slots.items()):
        need = int(slot.count)
        if need <= 0:
            continue
        ok = [d.serial for d in devices
              if d.role == role and d.accepted and d.online
              and slot.min_resolution.admits(d.width, d.height)]
        got = min(need, len(ok))
        rows.append({"role": role, "required": need, "min_resolution": str(slot.min_resolution),
                     "filled": got, "devices": sorted(ok), "missing": need - got})
        req_total += need
        filled_total += got
    return {"required": req_total, "filled": filled_total,
            "figure": round(filled_total / req_total, 4) if req_total else None,
            "missing": req_total - filled_total, "slots": rows}
