"""Work orders: tickets as rows plus an append-only event history, and the SLA clock.

Holds: `calendar` (the working calendar: weekly hours per schedule, public holidays and
make-up working days as data with effective dates), `clock` (the ONE pure function that turns
a ticket's events, the SLA policy and the calendar into deadlines, time used, holds and
breaches), `policy` (the profile's `tickets`/`sla`/`calendar` sections as typed rules, fault
families), `models` (tables), `service` (opening, actions, caching the clock: each change is
one transaction with its outbox rows), `opening` (tickets from device health: persistence,
root cause, verification, recovery), `attachments` (photos), `cli` (`flask tickets`). The ticket
figures (opened, closed, overdue, SLA compliance, MTTR) are defined once in reports/tickets.py,
read from the clock each ticket stores.

May import: supervisor.core, supervisor.inventory, supervisor.health, supervisor.profiles and
supervisor.notifications (outbox rows). Domain modules import no flask; `cli.py` does, and the
pages live in supervisor/web/tickets.py (which also starts the verification sweep).
"""
