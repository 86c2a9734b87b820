"""Notifications: an outbox written in the same transaction as the ticket change that causes
it, and delivery by a job with retries and back-off over e-mail (SMTP) and webhooks (JSON
POST; plain, WeCom and DingTalk robot formats), with a delivery log.

Holds: `models` (recipients, outbox, delivery log), `outbox` (which recipients get a row for a
ticket event: never another contractor's tickets), `channels` (SMTP and webhook senders, the
message templates), `delivery` (the job: due rows, quiet hours, back-off).

May import: supervisor.core, supervisor.inventory (contracts). Imports no flask and nothing of
supervisor.tickets (the ticket service calls in with plain values).
"""
