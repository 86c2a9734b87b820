"""An independent oracle: a minute-by-minute counter (bench/tickets_clock.py's peer) agrees
with the clock's repair time used on random working-hours histories across 2025 (weekends,
holidays, make-up days, holds over nights, reopenings)."""
import datetime as dt

from bench.tickets_clock import CAL, POLICY, histories, minute_stepper
from supervisor.tickets.clock import compute


def test_clock_agrees_with_minute_stepping():
    now = dt.datetime(2026, 6, 1)
    for h in histories(25, seed=3):
        ours = compute(h, {"bench@1": POLICY}.__getitem__, {1: CAL}.__getitem__, now)
        assert ours.current.repair.used_s == minute_stepper(h, now), h
