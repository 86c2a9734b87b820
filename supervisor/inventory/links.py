"""Links between devices across the tenant boundary.

A camera of one contractor may hang on another contractor's switch (`upstream`). The
camera's contractor needs to know why its camera is offline ("its upstream device,
outside your contract, is down") but must never learn the other device's identity, state
or id. Everything a reader sees about a link goes through here:

- `hidden_serials(session, scope, serials)`: which of the serials named in reasons the
  reader may NOT see (`scope` is the reader's `devices_for(user)`);
- `redact_reasons(reasons, hidden)`: reasons with every reference to a hidden device
  replaced by a neutral `outside_scope` reason (copies: stored rows are never touched);
- `visible_upstream_id(session, scope, device)`: the upstream id, or None when it is
  outside the reader's scope;
- `crossing_links(pairs)`: for the import, which (device, upstream) pairs cross contracts.

Pure apart from the two queries, which take the session and the scope explicitly.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from supervisor.inventory.models import Device

# Reason keys that name another device (by serial).
LINK_KEYS = ("upstream", "recorder")
OUTSIDE = {"check": "upstream", "code": "upstream_down", "outside_scope": True}


def referenced_serials(reason_lists: Iterable[Iterable[Any] | None]) -> set[str]:
    """Every serial that the reasons name through a link key."""
    out: set[str] = set()
    for reasons in reason_lists:
        for reason in reasons or []:
            if isinstance(reason, Mapping):
                for key in LINK_KEYS:
                    value = reason.get(key)
                    if value not in (None, ""):
                        out.add(str(value))
    return out


def hidden_serials(session: Session, scope: Select, serials: Iterable[str]) -> set[str]:
    """Of `serials`, those the reader (whose device select is `scope`) may not see.
    A serial that names no stored device is hidden too: fails closed."""
    wanted = {s for s in serials if s}
    if not wanted:
        return set()
    scoped = scope.subquery()
    visible = set(session.scalars(
        select(Device.serial).join(scoped, scoped.c.id == Device.id)
        .where(Device.serial.in_(sorted(wanted)))).all())
    return wanted - visible


def redact_reasons(reasons: Iterable[Any] | None, hidden: set[str]) -> list[Any]:
    """A copy of `reasons` where a reason naming a hidden device says only that a linked
    device outside the reader's contract is down (no serial, id or measured value)."""
    out: list[Any] = []
    for reason in reasons or []:
        if isinstance(reason, Mapping) and any(
                str(reason.get(k)) in hidden for k in LINK_KEYS if reason.get(k) not in (None, "")):
            out.append({**OUTSIDE, "check": reason.get("check") or "upstream",
                        "code": reason.get("code") or "upstream_down"})
        else:
            out.append(reason)
    return out


def visible_upstream_id(session: Session, scope: Select, device: Device) -> int | None:
    """The device's upstream id if the reader may see that device, else None."""
    if device.upstream_id is None:
        return None
    scoped = scope.subquery()
    found = session.scalar(select(scoped.c.id).where(scoped.c.id == device.upstream_id))
    return found


def crossing_links(pairs: Iterable[tuple[str, str | None, str | None, str | None]]
                   ) -> list[tuple[str, str]]:
    """(serial, upstream serial) of every link whose two ends belong to different
    contractors. `pairs` are (serial, contractor key, upstream serial, upstream contractor
    key); a missing contractor (no contract) on either end counts as different."""
    out = []
    for serial, contractor, up_serial, up_contractor in pairs:
        if up_serial and contractor != up_contractor:
            out.append((serial, up_serial))
    return out
