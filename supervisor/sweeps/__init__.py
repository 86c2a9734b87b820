"""Sweeps: the probe → judge → store pipeline, slice planning, the scheduler and its lease,
the executors (local, Celery) and the Celery worker module, and `flask sweep`.

The worker module (`celery_worker`) imports only `probes`, `supervisor.core.choices` and the
standard library, so a worker machine needs no database or Flask.

May import: `supervisor.core`, `supervisor.inventory`, `supervisor.profiles`,
`supervisor.health`, `probes`.
"""
