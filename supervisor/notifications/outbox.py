"""Outbox rows for a ticket event: the police's recipients and the ticket's own contractor's,
never another contractor's. Written in the caller's transaction; delivered by `delivery`."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from supervisor.notifications.models import OutboxMessage, Recipient


def recipients_for(session: Session, contractor_id: Optional[int]) -> list[Recipient]:
    """Police recipients (no contractor) plus those of `contractor_id` only."""
    clause = Recipient.contractor_id.is_(None)
    if contractor_id is not None:
        clause = or_(clause, Recipient.contractor_id == contractor_id)
    return list(session.scalars(select(Recipient).where(Recipient.active.is_(True), clause)
                                .order_by(Recipient.id)))


def enqueue(session: Session, *, ticket_id: int, event_seq: int, event: str,
            contractor_id: Optional[int], severity: str, payload: dict[str, Any],
            now: dt.datetime) -> list[OutboxMessage]:
    rows = []
    for r in recipients_for(session, contractor_id):
        row = OutboxMessage(ticket_id=ticket_id, event_seq=event_seq, event=event,
                            recipient_id=r.id, contractor_id=contractor_id, severity=severity,
                            payload=payload, status="pending", attempts=0, next_attempt_at=now,
                            created_at=now)
        session.add(row)
        rows.append(row)
    session.flush()
    return rows
