"""Reporting glue: what connects the pure figures in reports/ to the platform.

Holds: `models` (reports' own tables: ledger closings, waivers, adjustments, contract events,
the monthly PDF archive), `context` (the standard profile's targets and slots handed to
reports/), `events` (recording a contract event a payment rule deducts for: validated,
audited, a closed month adjusted), `archive` (building, archiving and scheduling the monthly
PDF), `cli` (`flask report figures|monthly|ledger|event`, `flask evidence`).

May import: supervisor.core, supervisor.profiles, supervisor.inventory (its tables), supervisor.sweeps (job registration) and
reports. Domain modules import no flask; `cli.py` does; the pages live in
supervisor/web/reports.py.
"""
