"""How busy our own event loop is, so that our overload is never a device's failure.

``LoopMonitor`` wakes every ``interval`` seconds and records how late it woke: the
loop's lag, the time any ready callback (an answer that arrived, a timer) waits before
it runs. A check that timed out while the lag was above ``bound`` may have timed out on
us, not on the device: the runner retries it once the loop is calm, or records it as
not measured. ``AdaptiveLimit`` turns the same signal into how many devices a batch
keeps in flight (additive increase, multiplicative decrease, as TCP does with a
congestion window), so a sweep slows down instead of blaming devices.
"""
from __future__ import annotations

import asyncio
import bisect
import collections
import time
from typing import Optional

DEFAULT_LAG_BOUND_S = 0.25


class LoopMonitor:
    def __init__(self, interval: float = 0.02, bound: float = DEFAULT_LAG_BOUND_S,
                 keep_s: float = 600.0) -> None:
        self.interval = interval
        self.bound = bound
        self.keep_s = keep_s
        # (wake time, lag) samples, oldest first; bounded by keep_s
        self._times: collections.deque[float] = collections.deque()
        self._lags: collections.deque[float] = collections.deque()
        self._expected: Optional[float] = None
        self._task: Optional[asyncio.Task] = None
        self._users = 0
        self.samples = 0
        self.hist = collections.Counter()      # lag histogram in 10 ms buckets, all time
        self.max_lag = 0.0

    # ------------------------------------------------------------ running
    def start(self) -> None:
        self._users += 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0 and self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
            self._expected = None

    async def _run(self) -> None:
        while True:
            self._expected = time.monotonic() + self.interval
            await asyncio.sleep(self.interval)
            now = time.monotonic()
            self.record(now, max(0.0, now - self._expected))

    def record(self, at: float, lag: float) -> None:
        self._times.append(at)
        self._lags.append(lag)
        self.samples += 1
        self.hist[min(int(lag * 100), 10_000)] += 1
        self.max_lag = max(self.max_lag, lag)
        while self._times and self._times[0] < at - self.keep_s:
            self._times.popleft()
            self._lags.popleft()

    # ------------------------------------------------------------ reading
    def pending_lag(self, now: Optional[float] = None) -> float:
        """How late the monitor is right now (a loop blocked at this moment shows here
        before the monitor gets to record it)."""
        if self._expected is None:
            return 0.0
        return max(0.0, (now or time.monotonic()) - self._expected)

    def max_lag_between(self, t0: float, t1: Optional[float] = None) -> float:
        """The worst lag seen over [t0, t1] (t1 = now), including a blockage under way.
        A sample taken at time t covers the stall that ended at t, so samples up to one
        lag after t1 still count."""
        now = time.monotonic()
        t1 = now if t1 is None else t1
        worst = self.pending_lag(now) if t1 >= now - self.interval else 0.0
        times = self._times
        if not times:
            return worst
        i = bisect.bisect_left(times, t0)
        for k in range(i, len(times)):
            at, lag = times[k], self._lags[k]
            if at - lag > t1:
                break
            worst = max(worst, lag)
        return worst

    def recent_lag(self, window: float = 0.5) -> float:
        return self.max_lag_between(time.monotonic() - window)

    def overloaded_between(self, t0: float, t1: Optional[float] = None) -> bool:
        return self.max_lag_between(t0, t1) > self.bound

    async def calm(self, timeout: float = 30.0) -> bool:
        """Wait until the lag has stayed under the bound for a few ticks (True), or
        ``timeout`` passed (False)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.recent_lag(max(0.1, 5 * self.interval)) <= self.bound / 2:
                return True
            await asyncio.sleep(max(self.interval, 0.05))
        return False

    def quantile(self, q: float) -> float:
        """Lag quantile over every sample so far (10 ms resolution)."""
        total = sum(self.hist.values())
        if not total:
            return 0.0
        need = q * total
        seen = 0
        for bucket in sorted(self.hist):
            seen += self.hist[bucket]
            if seen >= need:
                return (bucket + 1) / 100.0
        return self.max_lag

    def summary(self) -> dict[str, float]:
        return {"samples": self.samples, "p50_s": self.quantile(0.5),
                "p99_s": self.quantile(0.99), "max_s": round(self.max_lag, 3),
                "bound_s": self.bound}


class AdaptiveLimit:
    """How many devices to keep in flight: grows by one per calm ``step_s`` up to
    ``ceiling``, shrinks by ``decrease`` (at most once per ``step_s``) while the loop
    lags beyond its bound, never below ``floor``."""

    def __init__(self, monitor: LoopMonitor, ceiling: int, floor: int = 4,
                 decrease: float = 0.7, step_s: float = 0.25) -> None:
        self.monitor = monitor
        self.ceiling = max(1, ceiling)
        self.floor = max(1, min(floor, self.ceiling))
        self.value = float(self.ceiling)
        self.decrease = decrease
        self.step_s = step_s
        self._last = time.monotonic()
        self.lowest = self.ceiling
        self.cuts = 0

    def current(self) -> int:
        now = time.monotonic()
        if now - self._last >= self.step_s:
            lag = self.monitor.max_lag_between(self._last)
            if lag > self.monitor.bound:
                self.value = max(float(self.floor), self.value * self.decrease)
                self.cuts += 1
            elif lag < self.monitor.bound / 2:
                self.value = min(float(self.ceiling), self.value + 1 + self.value * 0.05)
            self._last = now
        n = int(self.value)
        self.lowest = min(self.lowest, n)
        return n
