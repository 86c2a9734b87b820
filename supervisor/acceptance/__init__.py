"""Remote acceptance of an installation against the standard profile.

Holds: the acceptance run (`run.py`: probe every device of a community, judge each check
with `checks.py`, keep every attempt and its evidence, move devices to `accepted`), the
device I/O it needs beyond a sweep (`measure.py`, built only from `probes/`), the default
credentials tried (`default_credentials.yaml`, data with sources), role-slot coverage
(`coverage.py`), reference-frame review (`references.py`), discovery compared with the
inventory (`discovery.py`), the certificate PDF (`certificate.py`) and the punch list
(`punchlist.py`); tables in `models.py`; `flask accept` / `flask discover` in `cli.py`.

May import: `probes`, `supervisor.core`, `supervisor.inventory`, `supervisor.health`
(evidence files and device status), `supervisor.profiles`. No `flask` outside `cli.py`.
"""
