"""Health: judging probe results into device states (pure rules with hysteresis and root
cause), storing samples, intervals, events and daily rollups, evidence frames, maintenance
windows, the queries the health pages show, and `flask health` commands.

May import: `supervisor.core`, `supervisor.inventory`, `supervisor.profiles`, `probes`.
"""
