"""Tickets from device health: open after a fault persists, root cause, verification by
probe, recovery without intervention. One job (`scan`) does all of it; it is idempotent
(run it after every sweep and every minute) and the caller commits.

* A fault family present on a device's confirmed status for the profile's
  ``tickets.open_after_s[family]`` opens a ticket with the evidence (reasons and measured
  values, the frames kept before and after), unless one is open for (device, family).
* Devices offline with cause ``upstream`` open nothing themselves: they are listed on the
  ticket of the topmost offline device the health rules named (`reasons[0].upstream`).
  Cameras recorded by a ticket's NVR are listed as ``recorded``.
* A ticket in ``verifying`` (marked repaired, or seen recovered) closes once the device has
  been healthy for ``tickets.confirmation_window_s``: ``verified`` after a repair mark,
  ``recovered`` without one. A probe after the mark that still sees the fault reopens it
  with that probe's evidence; the clock keeps running from the original opening.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Optional

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from supervisor.core.choices import Lifecycle
from supervisor.health.evidence import save_frame
from supervisor.health.models import DeviceStatus, EvidenceFrame
from supervisor.inventory.models import Device
from supervisor.tickets import service
from supervisor.tickets.models import Ticket, TicketDevice, TicketState
from supervisor.tickets.policy import TicketRules, families_of


def _evidence(session: Session, status: DeviceStatus, now: dt.datetime) -> dict[str, Any]:
    """What the health rules saw: state, cause, the failing checks with their measured values
    and limits (reasons), image faults; `frames` are added by `keep_frames`."""
    return {"state": status.state, "cause": status.cause, "since": _iso(status.since),
            "seen_at": now.isoformat(), "reasons": list(status.reasons or []),
            "faults": list(status.faults or []), "frames": []}


def keep_frames(session: Session, root: Optional[Path | str], ticket: Ticket, device_id: int,
                now: dt.datetime) -> list[dict[str, Any]]:
    """The frames before and after, kept with the ticket: the acceptance reference (before)
    and a copy of the newest probe frame saved as a `ticket` frame (after), so the sweep's
    rotation of `latest` frames does not take the evidence away."""
    out: list[dict[str, Any]] = []
    ref = session.scalars(select(EvidenceFrame).where(EvidenceFrame.device_id == device_id,
                                                      EvidenceFrame.kind == "reference")
                          .order_by(EvidenceFrame.taken_at.desc()).limit(1)).first()
    if ref is not None:
        out.append({"id": ref.id, "role": "before", "taken_at": _iso(ref.taken_at)})
    latest = session.scalars(select(EvidenceFrame).where(EvidenceFrame.device_id == device_id,
                                                         EvidenceFrame.kind == "latest")
                             .order_by(EvidenceFrame.taken_at.desc()).limit(1)).first()
    if latest is not None and root is not None:
        base = Path(root).resolve()
        path = (base / latest.path).resolve()
        if base in path.parents and path.is_file():
            copy = save_frame(session, base, device_id, "ticket", path.read_bytes(), latest.taken_at,
                              latest.diagnosis, ticket_id=ticket.id)
            session.flush()
            out.append({"id": copy.id, "role": "after", "taken_at": _iso(latest.taken_at)})
    return out


def _iso(value: Optional[dt.datetime]) -> Optional[str]:
    return value.isoformat() if value else None


def _root_serial(status: DeviceStatus) -> Optional[str]:
    for r in status.reasons or ():
        if r.get("code") == "upstream_down" and r.get("upstream"):
            return str(r["upstream"])
    return None


def _verifying_since(session: Session, ticket: Ticket) -> Optional[dt.datetime]:
    since = None
    for e in service.events_of(session, ticket):
        if e.kind in ("repair_marked", "recovery_seen"):
            since = since or e.at
        elif e.kind == "reopened":
            since = None
    return since


def _marked(session: Session, ticket: Ticket) -> bool:
    marked = False
    for e in service.events_of(session, ticket):
        if e.kind == "repair_marked":
            marked = True
        elif e.kind == "reopened":
            marked = False
    return marked


def scan(session: Session, now: dt.datetime, tz: str = "Asia/Shanghai",
         evidence_root: Optional[Path | str] = None) -> dict[str, int]:
    """Open, extend, verify, reopen and close tickets from the stored device statuses.
    `evidence_root` (the EVIDENCE_DIR setting) lets the frames be kept with the ticket."""
    counts = defaultdict(int)
    rows = session.execute(select(DeviceStatus, Device).join(Device, Device.id == DeviceStatus.device_id)
                           .where(Device.lifecycle != Lifecycle.RETIRED)).all()
    by_id = {d.id: (s, d) for s, d in rows}
    by_serial = {d.serial: d for _, d in rows}
    behind: dict[int, list[Device]] = defaultdict(list)
    for s, d in rows:
        if s.state == "offline" and s.cause == "upstream":
            root = by_serial.get(_root_serial(s) or "")
            if root is not None:
                behind[root.id].append(d)
    recorded: dict[int, list[Device]] = defaultdict(list)
    for _, d in rows:
        if d.recorded_by_id is not None:
            recorded[d.recorded_by_id].append(d)
    active = {(t.device_id, t.family): t for t in session.scalars(
        select(Ticket).where(Ticket.closed_at.is_(None)))}
    rules_cache: dict[int, TicketRules] = {}

    def rules_of(dev: Device) -> TicketRules:
        key = dev.contract_id or 0
        if key not in rules_cache:
            rules_cache[key] = service.ticket_rules_for(dev)
        return rules_cache[key]

    # Faults present: open or extend.
    for status, dev in rows:
        fams = families_of(status.state, status.cause, status.reasons, dev.kind)
        for fam in sorted(fams):
            ticket = active.get((dev.id, fam))
            if ticket is None:
                if status.since is None or (now - status.since).total_seconds() < rules_of(dev).open_after(fam):
                    continue
                rec = recorded.get(dev.id, []) if fam in ("offline", "recording") else []
                ticket = service.open_ticket(
                    session, dev, fam, now, evidence=_evidence(session, status, now),
                    behind=behind.get(dev.id, []) if status.state == "offline" else [],
                    recorded=rec, tz=tz)
                frames = keep_frames(session, evidence_root, ticket, dev.id, now)
                if frames:
                    ticket.evidence = dict(ticket.evidence or {}, frames=frames)
                active[(dev.id, fam)] = ticket
                counts["opened"] += 1
                continue
            if status.state == "offline":
                listed = set(session.scalars(select(TicketDevice.device_id)
                                             .where(TicketDevice.ticket_id == ticket.id)))
                new = [d for d in behind.get(dev.id, []) if d.id not in listed]
                if new:
                    for d in new:
                        session.add(TicketDevice(ticket_id=ticket.id, device_id=d.id, relation="behind"))
                    service.system_event(session, ticket, "devices_added", now,
                                         devices=[d.serial for d in new])
                    counts["extended"] += 1

    # Follow-up of open tickets.
    for (device_id, fam), ticket in list(active.items()):
        if ticket.source != "health" and ticket.state != TicketState.VERIFYING:
            continue
        pair = by_id.get(device_id)
        if pair is None:
            continue
        status, dev = pair
        present = fam in families_of(status.state, status.cause, status.reasons, dev.kind)
        since = _verifying_since(session, ticket)
        if ticket.state == TicketState.VERIFYING and since is not None:
            probed_after = status.last_sample_at is not None and status.last_sample_at > since
            if fam == "offline":
                still_bad = status.last_observed == "offline"
            else:
                still_bad = present and status.candidate_state != "ok"
            if probed_after and still_bad:
                evidence = _evidence(session, status, now)
                evidence["frames"] = keep_frames(session, evidence_root, ticket, dev.id, now)
                service.system_event(session, ticket, "reopened", now, evidence=evidence)
                counts["reopened"] += 1
                continue
            # Healthy for this fault: it is gone from the confirmed state (another fault of the
            # device has its own ticket) and the device answers.
            healthy_from = max(since, status.since) if status.since else None
            if (not present and status.state in ("ok", "degraded") and healthy_from is not None
                    and probed_after
                    and (now - healthy_from).total_seconds() >= rules_of(dev).confirmation_window_s):
                kind = "verified" if _marked(session, ticket) else "recovered"
                service.system_event(session, ticket, kind, now, healthy_since=healthy_from.isoformat())
                counts[kind] += 1
            continue
        if not present and ticket.source == "health" and status.state in ("ok", "degraded"):
            service.system_event(session, ticket, "recovery_seen", now, state=status.state)
            counts["recovery_seen"] += 1
    return dict(counts)


def refresh_all(session: Session, now: dt.datetime) -> int:
    """Recompute every active ticket's clock (records breaches and near-breach warnings)."""
    n = 0
    for ticket in session.scalars(select(Ticket).where(Ticket.closed_at.is_(None))):
        service.refresh(session, ticket, now)
        n += 1
    return n
