"""The figures, each defined once, computed exactly from state intervals.

Time is counted in integer microseconds (the resolution of stored times), so a group's
figure is the exact sum of its devices' seconds and a device reads the same in every report.

For one device and a period [lo, hi) (local-time boundaries, see reports.periods):

- **in service**: the part of [lo, hi) from local midnight of `accepted_on` to local midnight
  of `retired_on` (a device not accepted, or retired without a date, is not in service);
- **planned outage**: in-service seconds in `maintenance` (an approved window): shown, and
  left out of the denominator;
- **unknown**: in-service seconds with no judged state (never probed, or the platform was not
  measuring): shown, left out of the denominator (the platform's silence is neither the
  device's failure nor its success);
- **measured** = in service − planned − unknown = ok + degraded + offline: THE denominator;
- **unplanned outage** = `offline` seconds (of which `upstream`: its switch/NVR was down —
  still offline, no picture is no picture);
- **online rate** = (measured − offline) / measured;
- **intact rate** = ok / measured;
- **fault hours** by fault: seconds of degraded intervals naming that fault (an interval may
  name several, so fault hours may add up to more than the degraded hours);
- **clock accuracy** = probes with |offset| within tolerance / probes with a clock reading,
  inside the device's service time, counted per local day: from the `clock_day_rollups` a
  day was rolled into (kept for years), else from the raw samples still kept.

Nothing here imports Flask: the web pages, the CLI and the PDF pass a session and `now`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

import supervisor.core.localtime as localtime
from supervisor.models import (ClockDayRollup, Community, Contract, Contractor, Device,
                               ProbeSample, StateInterval)

US = 1_000_000
STATES = ("ok", "degraded", "offline", "maintenance")
GROUPINGS = ("city", "district", "community", "contract", "contractor", "vendor", "role", "kind",
             "device")

# Each figure once: key, English name (pages translate it), numerator, denominator.
DEFINITIONS: tuple[dict[str, str], ...] = (
    {"key": "in_service", "name": "Seconds in service",
     "definition": "Seconds of the period between local midnight of the acceptance date and "
                   "local midnight of the retirement date."},
    {"key": "planned", "name": "Planned outage",
     "definition": "In-service seconds in an approved maintenance window; not in the denominator."},
    {"key": "unknown", "name": "Not measured",
     "definition": "In-service seconds without a judged state; not in the denominator."},
    {"key": "measured", "name": "Denominator (measured seconds in service)",
     "definition": "In service minus planned outage minus not measured = ok + degraded + offline."},
    {"key": "unplanned", "name": "Unplanned outage",
     "definition": "Offline seconds (including offline because the upstream device was down)."},
    {"key": "online_rate", "name": "Online rate",
     "definition": "(measured − unplanned outage) / measured."},
    {"key": "intact_rate", "name": "Intact rate",
     "definition": "Seconds ok (answering and passing every check) / measured."},
    {"key": "clock_accuracy", "name": "Clock accuracy",
     "definition": "Probes whose clock offset is within the profile's tolerance / probes with a "
                   "clock reading, inside service time."},
    {"key": "coverage", "name": "Coverage",
     "definition": "Slot-seconds filled / slot-seconds required over the period: a required role "
                   "slot (profile, by community type) is filled while a camera of that role in "
                   "the community is in service and online (ok or degraded)."},
)


@dataclass(frozen=True)
class Targets:
    online_rate: float | None = None
    intact_rate: float | None = None
    clock_tolerance_s: float = 1.0


def targets_of(profile: Any) -> Targets:
    """The figures' targets from a standard profile (its `targets` and `clock` sections)."""
    return Targets(online_rate=profile.targets.online_rate.value,
                   intact_rate=profile.targets.intact_rate.value,
                   clock_tolerance_s=profile.clock.tolerance_s)


def coverage_slots(profile: Any) -> dict[str, dict[str, int]]:
    """Community type → {role: required count}, from the profile's `coverage` section."""
    return {ctype: {role: slot.count for role, slot in rule.roles.items()}
            for ctype, rule in profile.coverage.items()}


# ------------------------------------------------------------------ loading

def _local_midnights(dates: pd.Series) -> pd.Series:
    """Local calendar dates → naive-UTC datetime64 of their local midnight (NaT stays NaT)."""
    ts = pd.to_datetime(dates, errors="coerce")
    return ts.dt.tz_localize(localtime.zone()).dt.tz_convert("UTC").dt.tz_localize(None)


def _tuples(result: Any) -> list[tuple]:
    """Plain tuples: pandas probes Row objects attribute by attribute, 10× slower."""
    return [tuple(r) for r in result.tuples()]


def load_devices(session: Session, device_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """One row per device with every grouping column."""
    q = (sa.select(Device.id.label("device_id"), Device.serial, Device.name, Device.kind,
                   Device.role, Device.vendor, Device.lifecycle, Device.accepted_on,
                   Device.retired_on, Device.community_id, Community.name.label("community"),
                   Community.district, Community.type.label("community_type"),
                   Community.latitude.label("c_lat"), Community.longitude.label("c_lon"),
                   Device.contract_id, Contract.code.label("contract"),
                   Contractor.id.label("contractor_id"), Contractor.name.label("contractor"))
         .join(Community, Community.id == Device.community_id)
         .outerjoin(Contract, Contract.id == Device.contract_id)
         .outerjoin(Contractor, Contractor.id == Contract.contractor_id))
    if device_ids is not None:
        q = q.where(Device.id.in_(list(device_ids)))
    df = pd.DataFrame(_tuples(session.execute(q)), columns=[
        "device_id", "serial", "name", "kind", "role", "vendor", "lifecycle", "accepted_on",
        "retired_on", "community_id", "community", "district", "community_type", "c_lat", "c_lon",
        "contract_id",
        "contract", "contractor_id", "contractor"])
    df["city"] = "city"
    for col in ("role", "vendor", "contract", "contractor"):
        df[col] = df[col].fillna("—")
    return df


def load_intervals(session: Session, lo: dt.datetime, hi: dt.datetime,
                   device_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """Intervals overlapping [lo, hi); `reasons` only for degraded ones (fault hours)."""
    iv = StateInterval.__table__
    cond = [iv.c.start_at < hi, sa.or_(iv.c.end_at.is_(None), iv.c.end_at > lo)]
    if device_ids is not None:
        cond.append(iv.c.device_id.in_(list(device_ids)))
    rows = _tuples(session.execute(sa.select(iv.c.id, iv.c.device_id, iv.c.state, iv.c.cause,
                                             iv.c.start_at, iv.c.end_at).where(*cond)))
    df = pd.DataFrame(rows, columns=["id", "device_id", "state", "cause", "start_at", "end_at"])
    df["start_at"] = pd.to_datetime(df["start_at"])
    df["end_at"] = pd.to_datetime(df["end_at"])
    reasons = session.execute(sa.select(iv.c.id, iv.c.reasons).where(
        *cond, iv.c.state == "degraded")).all()
    df["reasons"] = df["id"].map(dict(reasons))
    return df


def _local_day_start(at: pd.Series) -> pd.Series:
    """Naive-UTC instants → naive-UTC local midnight of the local day they fall in."""
    local = pd.to_datetime(at).dt.tz_localize("UTC").dt.tz_convert(localtime.zone())
    return local.dt.normalize().dt.tz_convert("UTC").dt.tz_localize(None)


CLOCK_COLUMNS = ["device_id", "at", "checks", "ok"]


def clock_days_from_samples(samples: pd.DataFrame, tolerance_s: float) -> pd.DataFrame:
    """Raw clock readings (device_id, at, clock_offset_s) → checks and checks within
    `tolerance_s` per device and local day (`at` = the day's local midnight, naive UTC)."""
    if samples.empty:
        return pd.DataFrame(columns=CLOCK_COLUMNS)
    d = samples.assign(at=_local_day_start(samples["at"]),
                       good=samples["clock_offset_s"].abs() <= tolerance_s)
    agg = d.groupby(["device_id", "at"])["good"].agg(["size", "sum"]).reset_index()
    return agg.rename(columns={"size": "checks", "sum": "ok"})[CLOCK_COLUMNS]


def load_clock(session: Session, lo: dt.datetime, hi: dt.datetime,
               tolerance_s: float = 1.0) -> pd.DataFrame:
    """Clock checks per device and local day in [lo, hi) (local midnights): from the
    `clock_day_rollups` a day was rolled into, else from the raw samples still kept. A
    rolled day whose raw samples remain is re-judged from them when the tolerance changed
    since; once they are pruned, the day keeps the tolerance in force when it was rolled."""
    ps = ProbeSample.__table__
    rows = _tuples(session.execute(sa.select(ps.c.device_id, ps.c.at, ps.c.clock_offset_s).where(
        ps.c.at >= lo, ps.c.at < hi, ps.c.clock_offset_s.is_not(None))))
    raw = pd.DataFrame(rows, columns=["device_id", "at", "clock_offset_s"])
    raw["at"] = pd.to_datetime(raw["at"])
    raw_days = clock_days_from_samples(raw, tolerance_s)
    first = localtime.to_local(lo).date()
    after = localtime.to_local(hi).date() + dt.timedelta(days=1)
    cr = ClockDayRollup.__table__
    rolled = pd.DataFrame(_tuples(session.execute(sa.select(
        cr.c.device_id, cr.c.day, cr.c.tolerance_s, cr.c.checks, cr.c.ok).where(
        cr.c.day >= first, cr.c.day < after))),
        columns=["device_id", "day", "tolerance_s", "checks", "ok"])
    if rolled.empty:
        return raw_days
    rolled["at"] = _local_midnights(rolled["day"])
    rolled = rolled[(rolled["at"] >= pd.Timestamp(lo)) & (rolled["at"] < pd.Timestamp(hi))]
    have_raw = pd.MultiIndex.from_frame(raw_days[["device_id", "at"]]) if len(raw_days) else None
    keys = pd.MultiIndex.from_frame(rolled[["device_id", "at"]])
    same_tol = (rolled["tolerance_s"] - tolerance_s).abs() < 1e-9
    use = same_tol | (~keys.isin(have_raw) if have_raw is not None else True)
    rolled = rolled[use.values if hasattr(use, "values") else use]
    if len(rolled):
        used = pd.MultiIndex.from_frame(rolled[["device_id", "at"]])
        raw_days = raw_days[~pd.MultiIndex.from_frame(raw_days[["device_id", "at"]]).isin(used)] \
            if len(raw_days) else raw_days
    out = pd.concat([rolled[CLOCK_COLUMNS], raw_days], ignore_index=True)
    out["checks"] = out["checks"].astype("int64")
    out["ok"] = out["ok"].astype("int64")
    return out


# ------------------------------------------------------------------ per device

def _us(delta: pd.Series) -> pd.Series:
    """Timedeltas as integer microseconds (whatever resolution pandas chose), never negative."""
    return delta.astype("timedelta64[us]").astype("int64").clip(lower=0)


def device_seconds(devices: pd.DataFrame, intervals: pd.DataFrame, lo: dt.datetime,
                   hi: dt.datetime, now: dt.datetime, clock: pd.DataFrame | None = None,
                   clock_tolerance_s: float = 1.0) -> pd.DataFrame:
    """Per device: microseconds in service, per state, planned/unplanned/unknown, fault
    microseconds (`fault:<name>` columns) and clock probe counts. Pure: no database."""
    lo64, hi64 = pd.Timestamp(lo), pd.Timestamp(min(hi, max(lo, now)))
    out = devices[["device_id"]].copy()
    svc_lo = _local_midnights(devices["accepted_on"]).clip(lower=lo64)
    retired = _local_midnights(devices["retired_on"])
    # Retired without a date: the platform cannot prorate it, so it is not counted at all.
    no_date = (devices["lifecycle"] == "retired") & retired.isna()
    svc_hi = retired.fillna(hi64).clip(upper=hi64)
    svc_hi = svc_hi.where(~no_date, svc_lo)
    svc_lo = svc_lo.fillna(hi64)  # never accepted: empty service window
    svc_hi = svc_hi.where(svc_hi > svc_lo, svc_lo)
    out["svc_lo"], out["svc_hi"] = svc_lo.values, svc_hi.values
    out["in_service_us"] = _us(out["svc_hi"] - out["svc_lo"]).values
    for state in STATES:
        out[f"{state}_us"] = 0
    out["upstream_us"] = 0
    if len(intervals):
        iv = intervals.merge(out[["device_id", "svc_lo", "svc_hi"]], on="device_id", how="inner")
        end = iv["end_at"].fillna(pd.Timestamp(now))
        start = iv["start_at"].where(iv["start_at"] > iv["svc_lo"], iv["svc_lo"])
        end = end.where(end < iv["svc_hi"], iv["svc_hi"])
        iv["dur_us"] = _us(end - start)
        iv = iv[iv["dur_us"] > 0]
        by_state = iv.pivot_table(index="device_id", columns="state", values="dur_us",
                                  aggfunc="sum", fill_value=0)
        idx = out["device_id"]
        for state in STATES:
            if state in by_state.columns:
                out[f"{state}_us"] = idx.map(by_state[state]).fillna(0).astype("int64").values
        up = iv[(iv["state"] == "offline") & (iv["cause"] == "upstream")]
        out["upstream_us"] = idx.map(up.groupby("device_id")["dur_us"].sum()).fillna(0).astype(
            "int64").values
        faults = _fault_us(iv[iv["state"] == "degraded"])
        for name, series in faults.items():
            out[f"fault:{name}"] = idx.map(series).fillna(0).astype("int64").values
    known = out["ok_us"] + out["degraded_us"] + out["offline_us"] + out["maintenance_us"]
    out["unknown_us"] = (out["in_service_us"] - known).clip(lower=0)
    out["measured_us"] = out["ok_us"] + out["degraded_us"] + out["offline_us"]
    out["clock_checks"], out["clock_ok"] = 0, 0
    if clock is not None and len(clock):
        if "checks" not in clock.columns:  # raw readings: judged here
            clock = clock_days_from_samples(clock, clock_tolerance_s)
        # Days start at local midnights, as service time does: a day is in or out whole.
        c = clock.merge(out[["device_id", "svc_lo", "svc_hi"]], on="device_id", how="inner")
        c = c[(c["at"] >= c["svc_lo"]) & (c["at"] < c["svc_hi"])]
        agg = c.groupby("device_id")[["checks", "ok"]].sum().rename(
            columns={"checks": "size", "ok": "sum"})
        out["clock_checks"] = out["device_id"].map(agg["size"]).fillna(0).astype("int64").values
        out["clock_ok"] = out["device_id"].map(agg["sum"]).fillna(0).astype("int64").values
    return out.drop(columns=["svc_lo", "svc_hi"])


def _fault_us(degraded: pd.DataFrame) -> dict[str, pd.Series]:
    """Fault name → microseconds per device, from the reasons of degraded intervals."""
    rows = []
    for dev, dur, reasons, cause in zip(degraded["device_id"], degraded["dur_us"],
                                        degraded["reasons"], degraded["cause"]):
        names = set()
        for r in reasons or []:
            if isinstance(r, Mapping):
                names.add(r.get("fault") if r.get("code") == "image_fault" and r.get("fault")
                          else r.get("code"))
        names.discard(None)
        if not names and cause:
            names.add(cause)
        rows.extend((dev, n, dur) for n in names)
    if not rows:
        return {}
    df = pd.DataFrame(rows, columns=["device_id", "fault", "dur_us"])
    return {name: g.groupby("device_id")["dur_us"].sum() for name, g in df.groupby("fault")}


# ------------------------------------------------------------------ groups

SUM_COLUMNS = ("in_service_us", "ok_us", "degraded_us", "offline_us", "upstream_us",
               "maintenance_us", "unknown_us", "measured_us", "clock_checks", "clock_ok")


def _seconds(us: int) -> int | float:
    whole, rest = divmod(int(us), US)
    return whole if rest == 0 else round(int(us) / US, 6)


def rate(num: int, den: int) -> float | None:
    return None if den <= 0 else num / den


def summarize(devices: pd.DataFrame, per_device: pd.DataFrame, by: str = "city",
              targets: Targets | Mapping[Any, Targets] | None = None) -> list[dict[str, Any]]:
    """Rows of exact figures per group (sums of the devices' microseconds). `targets` is one
    Targets, or a mapping contract code → Targets (used when grouping by contract)."""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; one of {', '.join(GROUPINGS)}")
    key = "serial" if by == "device" else by
    df = per_device.merge(devices, on="device_id")
    df = df[df["in_service_us"] > 0]
    fault_cols = sorted(c for c in df.columns if c.startswith("fault:"))
    cols = list(SUM_COLUMNS) + fault_cols
    if df.empty:
        return []
    grouped = df.groupby(key, sort=True)
    sums = grouped[cols].sum()
    counts = grouped.size()
    rows = []
    for name, s in sums.iterrows():
        t = targets.get(name) if isinstance(targets, Mapping) else targets
        rows.append(figure_row(str(name), int(counts[name]), {c: int(s[c]) for c in cols}, t))
    return rows


def figure_row(name: str, devices: int, s: Mapping[str, int], targets: Targets | None
               ) -> dict[str, Any]:
    measured = s["measured_us"]
    online_us = measured - s["offline_us"]
    row: dict[str, Any] = {
        "group": name, "devices": devices,
        "in_service_s": _seconds(s["in_service_us"]),
        "planned_outage_s": _seconds(s["maintenance_us"]),
        "unknown_s": _seconds(s["unknown_us"]),
        "measured_s": _seconds(measured),
        "ok_s": _seconds(s["ok_us"]), "degraded_s": _seconds(s["degraded_us"]),
        "unplanned_outage_s": _seconds(s["offline_us"]),
        "upstream_outage_s": _seconds(s["upstream_us"]),
        "online_s": _seconds(online_us),
        "online_h": round(online_us / US / 3600, 2),
        "measured_h": round(measured / US / 3600, 2),
        "unplanned_outage_h": round(s["offline_us"] / US / 3600, 2),
        "planned_outage_h": round(s["maintenance_us"] / US / 3600, 2),
        "online_rate": rate(online_us, measured),
        "intact_rate": rate(s["ok_us"], measured),
        "clock_checks": s["clock_checks"], "clock_ok": s["clock_ok"],
        "clock_accuracy": rate(s["clock_ok"], s["clock_checks"]),
        "faults_s": {k.split(":", 1)[1]: _seconds(v) for k, v in s.items()
                     if k.startswith("fault:") and v},
    }
    for fig in ("online_rate", "intact_rate"):
        target = getattr(targets, fig, None) if targets else None
        row[f"{fig}_target"] = target
        row[f"{fig}_met"] = (None if target is None or row[fig] is None
                             else row[fig] >= target)
    return row


# ------------------------------------------------------------------ coverage

FILLS = ("ok", "degraded")  # a camera answering fills its slot (a picture fault is its own figure)


def _fill_segments(devices: pd.DataFrame, intervals: pd.DataFrame, lo_us: int, end_us: int,
                   now: dt.datetime) -> dict[int, list[tuple[int, int]]]:
    """Camera id → the microseconds of [lo, end) it was in service and online (ok or
    degraded), as sorted disjoint segments."""
    cams = devices[devices["kind"] == "camera"]
    start = _local_midnights(cams["accepted_on"])
    stop = _local_midnights(cams["retired_on"])
    no_date = (cams["lifecycle"] == "retired") & stop.isna()
    window: dict[int, tuple[int, int]] = {}
    for dev, s0, e0, skip in zip(cams["device_id"].tolist(), start.tolist(), stop.tolist(),
                                 no_date.tolist()):
        if skip or pd.isna(s0):
            continue
        a = max(lo_us, pd.Timestamp(s0).value // 1000)
        b = end_us if pd.isna(e0) else min(end_us, pd.Timestamp(e0).value // 1000)
        if b > a:
            window[int(dev)] = (a, b)
    out: dict[int, list[tuple[int, int]]] = {}
    if not len(intervals) or not window:
        return out
    iv = intervals[intervals["state"].isin(FILLS) & intervals["device_id"].isin(list(window))]
    now_us = pd.Timestamp(now).value // 1000
    for dev, st, en in zip(iv["device_id"].tolist(), iv["start_at"].tolist(),
                           iv["end_at"].tolist()):
        a0, b0 = window[int(dev)]
        a = max(a0, pd.Timestamp(st).value // 1000)
        b = min(b0, now_us if pd.isna(en) else pd.Timestamp(en).value // 1000)
        if b > a:
            out.setdefault(int(dev), []).append((a, b))
    for segs in out.values():
        segs.sort()
    return out


def _filled_us(segments: list[list[tuple[int, int]]], need: int) -> int:
    """∫ min(need, cameras online) dt over the cameras' segments (microseconds)."""
    edges: list[tuple[int, int]] = []
    for segs in segments:
        for a, b in segs:
            edges += [(a, 1), (b, -1)]
    edges.sort()
    total, count, last = 0, 0, None
    for t, step in edges:
        if last is not None and count:
            total += min(need, count) * (t - last)
        count += step
        last = t
    return total


def coverage(devices: pd.DataFrame, intervals: pd.DataFrame, lo: dt.datetime, hi: dt.datetime,
             now: dt.datetime, slots: Mapping[str, Mapping[str, int]],
             by: str = "community") -> list[dict[str, Any]]:
    """Coverage over [lo, min(hi, now)), time-weighted: slot-seconds filled / slot-seconds
    required. A slot (community type → {role: count}) is filled while a camera of that role
    in the community is in service and online (ok or degraded); not filled while none is
    (offline, in maintenance, not yet accepted or retired, or with no judged state)."""
    end = min(hi, now)
    if end <= lo:
        return []
    lo_us, end_us = pd.Timestamp(lo).value // 1000, pd.Timestamp(end).value // 1000
    span = end_us - lo_us
    fill = _fill_segments(devices, intervals, lo_us, end_us, now)
    cams = devices[devices["kind"] == "camera"]
    members: dict[tuple[Any, Any], list[int]] = {}
    for dev, cid, role in zip(cams["device_id"].tolist(), cams["community_id"].tolist(),
                              cams["role"].tolist()):
        members.setdefault((cid, role), []).append(int(dev))
    comms = devices.drop_duplicates("community_id").set_index("community_id")
    out: dict[str, dict[str, Any]] = {}
    for cid, c in comms.iterrows():
        need = slots.get(c["community_type"], {})
        group = str(c[by] if by != "community" else c["community"])
        g = out.setdefault(group, {"group": group, "required": 0, "required_us": 0,
                                   "filled_us": 0})
        for role, n in need.items():
            if n <= 0:
                continue
            g["required"] += n
            g["required_us"] += n * span
            g["filled_us"] += _filled_us([fill.get(d, []) for d in members.get((cid, role), [])], n)
    rows = []
    for g in sorted(out.values(), key=lambda g: g["group"]):
        rows.append({"group": g["group"], "required": g["required"],
                     "required_slot_h": round(g["required_us"] / US / 3600, 2),
                     "filled_slot_h": round(g["filled_us"] / US / 3600, 2),
                     "filled_slot_s": _seconds(g["filled_us"]),
                     "required_slot_s": _seconds(g["required_us"]),
                     "filled": round(g["filled_us"] / span, 4) if span else 0.0,
                     "coverage": rate(g["filled_us"], g["required_us"])})
    return rows


def _coverage_over(devices: pd.DataFrame, intervals: pd.DataFrame,
                   spans: Sequence[tuple[dt.datetime, dt.datetime]], now: dt.datetime,
                   slots: Mapping[str, Mapping[str, int]], by: str) -> dict[str, dict[str, Any]]:
    """`coverage` summed over disjoint spans: filled and required slot-seconds add up."""
    acc: dict[str, dict[str, Any]] = {}
    for a, b in spans:
        for c in coverage(devices, intervals, a, b, now, slots, by):
            g = acc.setdefault(c["group"], {"group": c["group"], "filled_s": 0.0, "required_s": 0.0})
            g["filled_s"] += float(c["filled_slot_s"])
            g["required_s"] += float(c["required_slot_s"])
    return {k: {"group": k, "coverage": rate(g["filled_s"], g["required_s"]),
                "filled_slot_h": round(g["filled_s"] / 3600, 2),
                "required_slot_h": round(g["required_s"] / 3600, 2)} for k, g in acc.items()}


# ------------------------------------------------------------------ one call

COVERAGE_GROUPINGS = ("city", "district", "community")  # coverage is a community's figure


def windowed_device_seconds(devices: pd.DataFrame, intervals: pd.DataFrame,
                            windows: Sequence[tuple[dt.datetime, dt.datetime]], now: dt.datetime,
                            clock: pd.DataFrame | None = None, clock_tolerance_s: float = 1.0
                            ) -> pd.DataFrame:
    """`device_seconds` over a set of disjoint windows (e.g. the working hours of a month):
    every column is a sum of microseconds, so the windows' figures add up exactly. Clock
    checks are whole local days, counted once over the windows' span (a clock is right or
    wrong all day, not during office hours)."""
    windows = sorted(w for w in windows if w[1] > w[0])
    base = device_seconds(devices, intervals.iloc[0:0], windows[0][0] if windows else now,
                          windows[0][0] if windows else now, now)
    parts = [device_seconds(devices, intervals, a, b, now) for a, b in windows]
    if parts:
        summed = pd.concat(parts).fillna(0).groupby("device_id", sort=False).sum()
        out = base[["device_id"]].join(summed, on="device_id").fillna(0)
    else:
        out = base
    for col in out.columns:
        if col != "device_id":
            out[col] = out[col].astype("int64")
    if windows and clock is not None:
        span = device_seconds(devices, intervals.iloc[0:0], windows[0][0], windows[-1][1], now,
                              clock, clock_tolerance_s)
        out["clock_checks"] = span["clock_checks"].values
        out["clock_ok"] = span["clock_ok"].values
    return out


def figures(session: Session, lo: dt.datetime, hi: dt.datetime, now: dt.datetime,
            by: str = "city", targets: Targets | Mapping[Any, Targets] | None = None,
            device_ids: Iterable[int] | None = None,
            slots: Mapping[str, Mapping[str, int]] | None = None,
            windows: Sequence[tuple[dt.datetime, dt.datetime]] | None = None
            ) -> list[dict[str, Any]]:
    """Load and summarise: what the CLI, the pages and the PDF all call. With `slots` and a
    grouping by place, each row also carries the group's time-weighted coverage. With
    `windows` (naive-UTC ranges inside [lo, hi), e.g. a schedule's working hours) every
    figure counts only the time inside them."""
    ids = list(device_ids) if device_ids is not None else None
    devices = load_devices(session, ids)
    intervals = load_intervals(session, lo, hi, ids)
    tol = targets.clock_tolerance_s if isinstance(targets, Targets) else 1.0
    clock = load_clock(session, lo, hi, tol)
    if windows is None:
        per = device_seconds(devices, intervals, lo, hi, now, clock, tol)
    else:
        windows = [(max(a, lo), min(b, hi)) for a, b in windows if b > lo and a < hi]
        per = windowed_device_seconds(devices, intervals, windows, now, clock, tol)
    rows = summarize(devices, per, by, targets)
    if slots is not None and by in COVERAGE_GROUPINGS:
        cov = ({c["group"]: c for c in coverage(devices, intervals, lo, hi, now, slots, by)}
               if windows is None else _coverage_over(devices, intervals, windows, now, slots, by))
        for r in rows:
            c = cov.get(r["group"])
            r["coverage"] = c["coverage"] if c else None
            r["coverage_filled_slot_h"] = c["filled_slot_h"] if c else None
            r["coverage_required_slot_h"] = c["required_slot_h"] if c else None
    return rows
