"""The accuracy scenario against the simulator's ground truth (shared by the default test
and the scale test). Faults are set through the control API while the test sweeps on a
fixed period; the simulator's --truth file is the reference, the stored intervals the
measurement."""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from flask import current_app

from supervisor.core.extensions import db
from supervisor.health.models import DeviceStatus, StateInterval
from supervisor.inventory.models import Device
from supervisor.profiles.loader import load_profile
from supervisor.sweeps.pipeline import run_sweep

ROOT = Path(__file__).resolve().parents[2]
REACH_DOWN = ("offline", "refused", "reboot")


def make_profile(tmp: Path, interval_s: float, *, to_offline: int = 2, to_ok: int = 2,
                 to_degraded: int = 2, flap_changes: int = 4, flap_window_s: float = 12.0,
                 reach_timeout_s: float = 0.5):
    """The default profile with short intervals/timeouts, as its own profile file."""
    data = yaml.safe_load((ROOT / "supervisor/profiles/default-v1.yaml").read_text(encoding="utf-8"))
    data["name"], data["version"], data["supersedes"] = "healthtest", 1, None
    for tier in data["probe_tiers"].values():
        tier["interval_s"], tier["jitter_s"] = interval_s, 0
        tier["timeouts_s"]["reach"] = reach_timeout_s
        tier["retries"] = {k: 0 for k in tier["timeouts_s"]}
    data["hysteresis"].update(to_offline=to_offline, to_ok=to_ok, to_degraded=to_degraded,
                              flap_changes=flap_changes, flap_window_s=flap_window_s)
    folder = tmp / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "healthtest-v1.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_profile("healthtest", directory=folder, check_in_use=False)


def import_fleet(fleet) -> None:
    from supervisor.inventory.importer import apply_plan, parse_upload

    data = Path(fleet.inventory_path).read_bytes()
    plan = parse_upload(Path(fleet.inventory_path).name, data, create_contracts=True,
                        contractor="Test contractor")
    assert not plan.errors, [str(e) for e in plan.errors[:5]]
    apply_plan(plan, "test")


def _t(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(dt.timezone.utc).replace(tzinfo=None)


def _union_seconds(spans: list[tuple[dt.datetime, dt.datetime]], lo: dt.datetime, hi: dt.datetime) -> float:
    clipped = sorted((max(a, lo), min(b, hi)) for a, b in spans if min(b, hi) > max(a, lo))
    total, cur_a, cur_b = 0.0, None, None
    for a, b in clipped:
        if cur_b is None or a > cur_b:
            if cur_b is not None:
                total += (cur_b - cur_a).total_seconds()
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_b is not None:
        total += (cur_b - cur_a).total_seconds()
    return total


def truth_offline(truth: list[dict], lo: dt.datetime, hi: dt.datetime) -> dict[str, float]:
    """Seconds each device could not be reached, per the simulator (own faults + upstream)."""
    spans: dict[str, list] = {}
    for rec in truth:
        if rec["fault"] in REACH_DOWN:
            end = _t(rec["end"]) if rec.get("end") else hi
            spans.setdefault(rec["serial"], []).append((_t(rec["start"]), end))
    return {s: _union_seconds(v, lo, hi) for s, v in spans.items()}


def measured_offline(lo: dt.datetime, hi: dt.datetime) -> dict[str, float]:
    ivs = db.session.execute(sa.select(Device.serial, StateInterval.start_at, StateInterval.end_at)
                             .join(Device, Device.id == StateInterval.device_id)
                             .where(StateInterval.state == "offline")).all()
    spans: dict[str, list] = {}
    for serial, a, b in ivs:
        spans.setdefault(serial, []).append((a, b or hi))
    return {s: _union_seconds(v, lo, hi) for s, v in spans.items()}


@dataclass
class Action:
    at: float              # seconds after the first sweep
    serial: str
    faults: list[str] | None   # None = clear
    params: dict[str, float] = field(default_factory=dict)


@dataclass
class Extra:
    at_sweep: int          # after fast sweep k
    tier: str
    serials: list[str]


def run_scenario(fleet, profile, period_s: float, sweeps: int, actions: list[Action],
                 extras: list[Extra]) -> tuple[dt.datetime, dt.datetime, list[float]]:
    """Fast sweeps every period_s; actions applied at their offsets; extra tier sweeps.

    Returns the measurement window (first sweep start, last sweep start) and the fast
    sweep durations.
    """
    pending = sorted(actions, key=lambda a: a.at)
    t0 = time.monotonic()
    w0 = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    durations = []
    for k in range(sweeps):
        tick = t0 + k * period_s
        while True:
            now = time.monotonic()
            if pending and t0 + pending[0].at <= min(tick, now):
                a = pending.pop(0)
                if a.faults is None:
                    fleet.clear_faults(a.serial)
                else:
                    fleet.set_faults(a.serial, a.faults, **a.params)
                continue
            if now >= tick:
                break
            nxt = tick if not pending else min(tick, t0 + pending[0].at)
            time.sleep(max(0.0, min(0.05, nxt - now)))
        w1 = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        s = run_sweep("fast", profile=profile, deadline_s=period_s * 3, trigger="test", settings=current_app.extensions["settings"])
        durations.append(s.duration_s)
        for e in extras:
            if e.at_sweep == k:
                run_sweep(e.tier, e.serials, profile=profile, deadline_s=30, trigger="test", settings=current_app.extensions["settings"])
    return w0, w1, durations


def statuses() -> dict[str, Any]:
    return {serial: st for serial, st in db.session.execute(
        sa.select(Device.serial, DeviceStatus).join(DeviceStatus, DeviceStatus.device_id == Device.id))}


def intervals_of(serial: str) -> list[StateInterval]:
    return db.session.scalars(sa.select(StateInterval).join(Device, Device.id == StateInterval.device_id)
                              .where(Device.serial == serial).order_by(StateInterval.start_at)).all()
