"""Helpers for health tests: scripted probe results and executor."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

from probes.model import ProbeError, ProbeResult, ReachResult

T0 = dt.datetime(2026, 3, 1, 8, 0, 0, tzinfo=dt.timezone.utc)


def reach(serial: str, at: dt.datetime, up: bool, tier: str = "fast") -> ProbeResult:
    r = ReachResult(ok=True, rtt_ms=0.4, ports_open=[8080]) if up else ReachResult(
        ok=False, error=ProbeError("timeout", "connect timed out", "reach"))
    return ProbeResult(serial=serial, tier=tier, started_at=at,
                       finished_at=at + dt.timedelta(milliseconds=5), reach=r)


@dataclass
class ScriptedExecutor:
    """Answers each sweep from `script(serial, at)`: up (True) / down (False)."""

    script: Callable[[str, dt.datetime], bool]
    at: dt.datetime = T0
    name: str = "scripted"
    stop_after: Optional[int] = None
    calls: list = field(default_factory=list)
    order: Optional[Callable] = None   # sort key for the answer order (default: reversed)

    def iter_results(self, targets, tier, limits, deadline_s) -> Iterator[ProbeResult]:
        self.calls.append([t.serial for t in targets])
        # Reverse order: cameras report before their switch (exercises the deferral).
        ordered = sorted(targets, key=self.order) if self.order else list(reversed(targets))
        for n, t in enumerate(ordered):
            if self.stop_after is not None and n >= self.stop_after:
                raise KeyboardInterrupt("simulated crash")
            yield reach(t.serial, self.at,
                        self.script(t.serial, self.at), tier.name)
