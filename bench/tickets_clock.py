"""SLA clock: ours (interval walk over the working calendar) vs a minute-stepping counter.

`.venv/bin/python -m bench.tickets_clock [--tickets N] [--seed S]` builds N random ticket
histories (openings across 2025, acknowledgements, holds over nights, repair marks,
reopenings) under the working-hours schedule with China's 2025 day table, and times:

* ours: `supervisor.tickets.clock.compute` (time used, deadlines, warnings, breaches);
* the peer: the way simple ticketing scripts count business time — step through the ticket's
  life one minute at a time, adding a minute when it is a working minute and no hold is
  running (time used only, no deadlines).

It checks both agree on the repair time used (to the minute) before printing the ratio.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from zoneinfo import ZoneInfo

from supervisor.tickets.calendar import Schedule, WorkCalendar, library_days
from supervisor.tickets.clock import compute
from supervisor.tickets.policy import SlaPolicy, SlaTerms

SH = ZoneInfo("Asia/Shanghai")
WORKING = Schedule.from_mapping(
    "working_hours", {d: ["08:30-12:00", "13:30-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")})
POLICY = SlaPolicy("bench@1", {"minor": SlaTerms("minor", 24 * 3600, 72 * 3600, "working_hours")},
                   {"working_hours": WORKING})
CAL = WorkCalendar(1, "Asia/Shanghai", library_days([2025, 2026]))


def histories(n: int, seed: int) -> list[list[dict]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        at = dt.datetime(2025, 1, 1) + dt.timedelta(minutes=rng.randrange(360 * 24 * 60))
        evs = [{"kind": "opened", "at": at, "data": {"severity": "minor", "policy": "bench@1", "calendar": 1}}]
        for kind in ("acknowledged", "hold_requested", "hold_approved", "hold_ended", "repair_marked",
                     "reopened", "repair_marked"):
            at += dt.timedelta(minutes=rng.randrange(30, 2 * 24 * 60))
            data = {"hold": 1, "reason": "road_works"} if kind.startswith("hold_") else {}
            evs.append({"kind": kind, "at": at, "data": data})
        out.append(evs)
    return out


def minute_stepper(events: list[dict], now: dt.datetime) -> float:
    """The peer: repair time used, one minute at a time."""
    start = events[0]["at"]
    holds, stop, hold_from = [], None, None
    for e in events:
        if e["kind"] == "hold_approved":
            hold_from = e["at"]
        elif e["kind"] == "hold_ended" and hold_from:
            holds.append((hold_from, e["at"]))
            hold_from = None
        elif e["kind"] == "repair_marked":
            stop = e["at"]
        elif e["kind"] == "reopened":
            stop = None
    end = min(stop or now, now)
    used, t = 0, start
    while t < end:
        local = t.replace(tzinfo=dt.timezone.utc).astimezone(SH)
        minute = local.hour * 60 + local.minute
        spans = CAL.spans_on(WORKING, local.date())
        if any(a <= minute < b for a, b in spans) and not any(h0 <= t < h1 for h0, h1 in holds):
            used += 60
        t += dt.timedelta(minutes=1)
    return float(used)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench.tickets_clock")
    ap.add_argument("--tickets", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    hs = histories(args.tickets, args.seed)
    now = dt.datetime(2026, 6, 1)
    t0 = time.perf_counter()
    ours = [compute(h, {"bench@1": POLICY}.__getitem__, {1: CAL}.__getitem__, now) for h in hs]
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    peer = [minute_stepper(h, now) for h in hs]
    t_peer = time.perf_counter() - t0
    worst = max(abs(o.current.repair.used_s - p) for o, p in zip(ours, peer))
    print(f"tickets: {len(hs)} (working hours, China 2025 day table, holds, reopenings)")
    print(f"ours  (interval walk, all figures): {t_ours * 1000 / len(hs):.2f} ms per ticket")
    print(f"peer  (minute stepping, time used only): {t_peer * 1000 / len(hs):.2f} ms per ticket")
    print(f"ratio peer/ours: {t_peer / t_ours:.1f}x; largest disagreement on time used: {worst:.0f} s")
    return 0 if worst < 60 else 1


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
