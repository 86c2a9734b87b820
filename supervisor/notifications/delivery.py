"""The delivery job: send due outbox rows, log every attempt, back off on failure.

``deliver_due(session, now, settings, backoff_s)`` (the caller commits; each row is claimed
by a compare-and-set on (status, attempts) so two workers never send one row twice).

* Quiet hours (recipient's, e.g. "22:00-07:00" local) postpone a row to the end of the quiet
  period without counting an attempt — except for critical tickets.
* A failure writes a `Delivery` row and moves `next_attempt_at` by the next back-off step;
  after the last step the row is `failed` (shown to the police in the delivery log).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Optional, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from supervisor.notifications import channels
from supervisor.notifications.models import Delivery, OutboxMessage, Recipient


def parse_quiet(text: Optional[str]) -> Optional[tuple[dt.time, dt.time]]:
    if not text:
        return None
    a, _, b = text.partition("-")
    return dt.time.fromisoformat(a.strip()), dt.time.fromisoformat(b.strip())


def quiet_until(quiet: Optional[str], now: dt.datetime, tz: str) -> Optional[dt.datetime]:
    """End of the quiet period containing `now` (naive UTC), or None when not quiet."""
    span = parse_quiet(quiet)
    if span is None:
        return None
    zone = ZoneInfo(tz)
    local = now.replace(tzinfo=dt.timezone.utc).astimezone(zone)
    start, end = span
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if (start < end or t < end) else local.date() + dt.timedelta(days=1)
    until = dt.datetime.combine(end_day, end, tzinfo=zone)
    return until.astimezone(dt.timezone.utc).replace(tzinfo=None)


Sender = Callable[[Recipient, OutboxMessage], str]


def default_sender(settings: Any, tz: str) -> Sender:
    def send(recipient: Recipient, row: OutboxMessage) -> str:
        payload = dict(row.payload)
        if payload.get("repair_due_at"):
            due = dt.datetime.fromisoformat(payload["repair_due_at"]).replace(tzinfo=dt.timezone.utc)
            payload["repair_due_local"] = due.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
        base = getattr(settings, "TICKET_PUBLIC_URL", "") or ""
        link = f"{base.rstrip('/')}/tickets/{row.ticket_id}" if base else None
        if recipient.channel == "email":
            subject, body = channels.render("text", payload, link)
            return channels.send_email(settings, recipient.address, subject, body)
        if recipient.channel == "webhook":
            _, body = channels.render(recipient.format or "json", payload, link)
            return channels.send_webhook(settings, recipient.address, body)
        raise channels.DeliveryError(f"unknown channel {recipient.channel!r}")
    return send


def deliver_due(session: Session, now: dt.datetime, settings: Any,
                backoff_s: Sequence[float] = (60, 300, 900, 3600, 3600), tz: str = "Asia/Shanghai",
                sender: Optional[Sender] = None, limit: int = 100,
                default_quiet: Optional[str] = None) -> dict[str, int]:
    """Send the due rows. `default_quiet` (the profile's `notifications.quiet_hours`) applies
    to recipients without quiet hours of their own."""
    send = sender or default_sender(settings, tz)
    counts = {"sent": 0, "failed": 0, "retry": 0, "quiet": 0}
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending",
                                                       OutboxMessage.next_attempt_at <= now)
                           .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)).all()
    for row in rows:
        recipient = session.get(Recipient, row.recipient_id)
        if recipient is None or not recipient.active:
            row.status, row.last_error = "failed", "recipient inactive"
            counts["failed"] += 1
            continue
        if row.severity != "critical":
            until = quiet_until(recipient.quiet_hours or default_quiet, now, tz)
            if until is not None:
                row.next_attempt_at = until
                counts["quiet"] += 1
                continue
        # Claim: compare-and-set on the attempt count, so a second worker skips this row.
        claimed = session.execute(update(OutboxMessage).where(
            OutboxMessage.id == row.id, OutboxMessage.status == "pending",
            OutboxMessage.attempts == row.attempts).values(attempts=row.attempts + 1)
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        session.refresh(row)
        try:
            detail = send(recipient, row)
            ok = True
        except channels.DeliveryError as exc:
            detail, ok = str(exc), False
        session.add(Delivery(outbox_id=row.id, attempt=row.attempts, at=now, ok=ok, detail=detail[:2000]))
        if ok:
            row.status, row.sent_at, row.last_error = "sent", now, None
            counts["sent"] += 1
        elif row.attempts > len(backoff_s):
            row.status, row.last_error = "failed", detail
            counts["failed"] += 1
        else:
            row.last_error = detail
            row.next_attempt_at = now + dt.timedelta(seconds=float(backoff_s[row.attempts - 1]))
            counts["retry"] += 1
    session.flush()
    return counts
