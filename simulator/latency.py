"""Service-time distributions per protocol: `onvif=lognormal:80ms,snapshot=lognormal:250ms,snmp=5ms`.

Forms: `5ms` / `fixed:5ms` (constant), `lognormal:MEDIAN[:SIGMA]` (default sigma 0.5),
`uniform:LOW-HIGH`, `exp:MEAN`. Units ms or s (bare numbers are ms). Off by default.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

PROTOCOLS = ("onvif", "snapshot", "snmp")


def _dur(text: str) -> float:
    t = text.strip().lower()
    if t.endswith("ms"):
        return float(t[:-2]) / 1000.0
    if t.endswith("s"):
        return float(t[:-1])
    return float(t) / 1000.0


@dataclass(frozen=True)
class Dist:
    kind: str
    a: float
    b: float = 0.0

    def sample(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            return self.a
        if self.kind == "lognormal":
            return rng.lognormvariate(math.log(max(self.a, 1e-6)), self.b)
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        if self.kind == "exp":
            return rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        return 0.0


def parse_dist(text: str) -> Dist:
    parts = text.split(":")
    if len(parts) == 1:
        return Dist("fixed", _dur(parts[0]))
    kind = parts[0].lower()
    if kind == "fixed":
        return Dist("fixed", _dur(parts[1]))
    if kind == "lognormal":
        return Dist("lognormal", _dur(parts[1]), float(parts[2]) if len(parts) > 2 else 0.5)
    if kind == "uniform":
        lo, _, hi = parts[1].partition("-")
        return Dist("uniform", _dur(lo), _dur(hi))
    if kind == "exp":
        return Dist("exp", _dur(parts[1]))
    raise ValueError(f"unknown distribution {kind!r}")


class Latency:
    """Samples a service time per protocol; zero for protocols not configured."""

    def __init__(self, spec: str | None = None, seed: int = 0):
        self.dists: dict[str, Dist] = {}
        self.rng = random.Random(seed ^ 0x5EED)
        for item in (spec or "").split(","):
            if not item.strip():
                continue
            proto, _, dist = item.partition("=")
            proto = proto.strip().lower()
            if proto not in PROTOCOLS:
                raise ValueError(f"unknown protocol {proto!r} (use {', '.join(PROTOCOLS)})")
            self.dists[proto] = parse_dist(dist.strip())

    def sample(self, proto: str) -> float:
        d = self.dists.get(proto)
        return d.sample(self.rng) if d else 0.0
