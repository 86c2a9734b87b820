"""Health: judging probe results into device states (pure rules with hysteresis and root
cause), storing samples, intervals, events and daily rollups, evidence frames, maintenance
windows, per-camera image calibration (a camera without an acceptance reference learns its
normal picture, `calibration.py`), the queries the health pages show, and `flask health` /
`flask quality` commands.

May import: `supervisor.core`, `supervisor.inventory`, `supervisor.profiles`, `probes`.
"""
