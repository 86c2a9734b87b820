"""Scenario files: faults scripted over time, reproducible from a seed.

    seed: 42                      # optional; default: the fleet's --seed
    events:                       # a fixed timeline (seconds after the fleet is ready)
      - at: 5
        select: {kind: switch, count: 1}      # or  device: HKS2024000001
        faults: [offline]
        for: 30                   # seconds; omit to keep the fault until the end
      - at: 10
        select: {kind: camera, role: entrance, count: 3}
        faults: [clock_drift]
        params: {clock_offset_s: 3600}
    random:                       # seeded random faults, Poisson arrivals over the fleet
      - faults: [offline, blur, frozen]       # one is picked per occurrence
        select: {kind: camera}
        rate_per_hour: 60
        duration_s: [30, 300]     # uniform range (or a single number)
        until: 3600               # stop generating after this many seconds

Selectors: kind, role, community (index), community_type, serial (one or a list), count.
The whole timeline is computed up front (`build_timeline`), so the same seed and fleet
always give the same faults at the same offsets.
"""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import yaml

from .faults import ALL_FAULTS, DEFAULT_PARAMS, fault_misfit
from .fleet import DeviceSpec


@dataclass(order=True)
class Action:
    at: float
    order: int
    serial: str = field(compare=False)
    set: bool = field(compare=False)              # True: set faults, False: clear them
    faults: tuple[str, ...] = field(compare=False)
    params: dict[str, float] = field(compare=False, default_factory=dict)


class ScenarioError(ValueError):
    pass


def load_scenario(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: the top level must be a mapping")
    return data


def _select(specs: list[DeviceSpec], sel: dict[str, Any], rng: random.Random, where: str) -> list[DeviceSpec]:
    if not isinstance(sel, dict):
        raise ScenarioError(f"{where}: select must be a mapping")
    unknown = set(sel) - {"kind", "role", "community", "community_type", "serial", "count"}
    if unknown:
        raise ScenarioError(f"{where}: unknown selector(s) {sorted(unknown)}")
    serials = sel.get("serial")
    if isinstance(serials, str):
        serials = [serials]
    out = [s for s in specs
           if ("kind" not in sel or s.kind == sel["kind"])
           and ("role" not in sel or s.role == sel["role"])
           and ("community" not in sel or s.community_index == int(sel["community"]))
           and ("community_type" not in sel or s.community_type == sel["community_type"])
           and (serials is None or s.serial in serials)]
    if "count" in sel:
        n = int(sel["count"])
        out = rng.sample(out, min(n, len(out)))
    return out


def _faults(item: dict[str, Any], where: str) -> list[str]:
    faults = item.get("faults", [])
    if isinstance(faults, str):
        faults = [faults]
    bad = [f for f in faults if f not in ALL_FAULTS]
    if not faults or bad:
        raise ScenarioError(f"{where}: faults must name known faults (bad: {bad})")
    return list(faults)


def _params(item: dict[str, Any], where: str) -> dict[str, float]:
    params = item.get("params", {}) or {}
    bad = [p for p in params if p not in DEFAULT_PARAMS]
    if bad:
        raise ScenarioError(f"{where}: unknown params {bad}")
    return {k: float(v) for k, v in params.items()}


def build_timeline(data: dict[str, Any], specs: list[DeviceSpec], seed: int) -> list[Action]:
    rng = random.Random(int(data.get("seed", seed)))
    actions: list[Action] = []
    n = 0

    def add(at: float, serial: str, faults: list[str], params: dict[str, float], dur: float | None) -> None:
        nonlocal n
        actions.append(Action(at, n, serial, True, tuple(faults), params))
        n += 1
        if dur is not None:
            actions.append(Action(at + dur, n, serial, False, tuple(faults)))
            n += 1

    for i, ev in enumerate(data.get("events", []) or []):
        where = f"events[{i}]"
        if not isinstance(ev, dict):
            raise ScenarioError(f"{where}: must be a mapping")
        sel = {"serial": ev["device"]} if "device" in ev else ev.get("select", {})
        targets = _select(specs, sel, rng, where)
        if not targets:
            raise ScenarioError(f"{where}: selects no device")
        dur = float(ev["for"]) if ev.get("for") is not None else None
        for s in targets:
            faults = _faults(ev, where)
            misfit = next((m for m in (fault_misfit(s, f) for f in faults) if m), None)
            if misfit:
                raise ScenarioError(f"{where}: {misfit}")
            add(float(ev.get("at", 0)), s.serial, faults, _params(ev, where), dur)

    for i, rnd in enumerate(data.get("random", []) or []):
        where = f"random[{i}]"
        pool = _select(specs, rnd.get("select", {}), rng, where)
        faults = _faults(rnd, where)
        rate = float(rnd.get("rate_per_hour", 0)) / 3600.0
        until = float(rnd.get("until", data.get("duration_s", 3600)))
        d = rnd.get("duration_s", [30, 300])
        lo, hi = (float(d[0]), float(d[1])) if isinstance(d, (list, tuple)) else (float(d), float(d))
        if rate <= 0 or not pool:
            continue
        busy_until: dict[str, float] = {}
        t = rng.expovariate(rate)
        while t < until:
            spec = rng.choice(pool)
            serial = spec.serial
            fault, dur = rng.choice(faults), rng.uniform(lo, hi)
            # A device already in a random fault is left alone: overlapping intervals on
            # one device would make the first clear end the second early. A fault the
            # device cannot have (ptz_stuck on a fixed camera) is skipped the same way.
            if busy_until.get(serial, -1.0) < t and fault_misfit(spec, fault) is None:
                add(t, serial, [fault], _params(rnd, where), dur)
                busy_until[serial] = t + dur
            t += rng.expovariate(rate)
    return sorted(actions)


async def run_scenario(fleet, data: dict[str, Any], seed: int) -> None:
    """Play the timeline against a running fleet (offsets from now)."""
    actions = build_timeline(data, fleet.specs, seed)
    t0 = time.monotonic()
    for act in actions:
        wait = act.at - (time.monotonic() - t0)
        if wait > 0:
            await asyncio.sleep(wait)
        if act.set:
            fleet.set_faults(act.serial, list(act.faults), act.params)
        else:
            fleet.clear_faults(act.serial, list(act.faults))
