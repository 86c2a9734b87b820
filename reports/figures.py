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
  from kept probe samples (raw retention) inside the device's service time.

Nothing here imports Flask: the web pages, the CLI and the PDF pass a session and `now`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

import supervisor.core.localtime as localtime
from supervisor.models import (Community, Contract, Contractor, Device, ProbeSample,
                               StateInterval)

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
     "definition": "Required role slots filled by a camera in service and not offline at the end "
                   "of the period / required slots (profile, by community type)."},
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


def load_clock(session: Session, lo: dt.datetime, hi: dt.datetime) -> pd.DataFrame:
    ps = ProbeSample.__table__
    rows = _tuples(session.execute(sa.select(ps.c.device_id, ps.c.at, ps.c.clock_offset_s).where(
        ps.c.at >= lo, ps.c.at < hi, ps.c.clock_offset_s.is_not(None))))
    df = pd.DataFrame(rows, columns=["device_id", "at", "clock_offset_s"])
    df["at"] = pd.to_datetime(df["at"])
    return df


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
        c = clock.merge(out[["device_id", "svc_lo", "svc_hi"]], on="device_id", how="inner")
        c = c[(c["at"] >= c["svc_lo"]) & (c["at"] < c["svc_hi"])]
        c = c.assign(good=c["clock_offset_s"].abs() <= clock_tolerance_s)
        agg = c.groupby("device_id")["good"].agg(["size", "sum"])
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

def coverage(devices: pd.DataFrame, intervals: pd.DataFrame, at: dt.datetime,
             slots: Mapping[str, Mapping[str, int]], by: str = "community") -> list[dict[str, Any]]:
    """Required role slots filled at `at` by cameras in service there and not offline.
    `slots`: community type → {role: required count}."""
    at64 = pd.Timestamp(at)
    d = devices[devices["kind"] == "camera"].copy()
    start = _local_midnights(d["accepted_on"])
    end = _local_midnights(d["retired_on"])
    in_service = (start <= at64) & (end.isna() | (end > at64)) & ~(
        (d["lifecycle"] == "retired") & end.isna())
    offline_now: set[int] = set()
    if len(intervals):
        cur = intervals[(intervals["start_at"] <= at64)
                        & (intervals["end_at"].isna() | (intervals["end_at"] > at64))]
        offline_now = set(cur.loc[cur["state"].isin(["offline", "maintenance"]), "device_id"])
    d["fills"] = in_service & ~d["device_id"].isin(offline_now)
    have = d[d["fills"]].groupby(["community_id", "role"]).size()
    comms = devices.drop_duplicates("community_id").set_index("community_id")
    per_comm = []
    for cid, c in comms.iterrows():
        need = slots.get(c["community_type"], {})
        req = sum(need.values())
        filled = sum(min(n, int(have.get((cid, role), 0))) for role, n in need.items())
        per_comm.append({"community_id": cid, "group": c[by] if by != "community" else c["community"],
                         "required": req, "filled": filled})
    out: dict[str, dict[str, Any]] = {}
    for r in per_comm:
        g = out.setdefault(str(r["group"]), {"group": str(r["group"]), "required": 0, "filled": 0})
        g["required"] += r["required"]
        g["filled"] += r["filled"]
    for g in out.values():
        g["coverage"] = rate(g["filled"], g["required"])
    return sorted(out.values(), key=lambda g: g["group"])


# ------------------------------------------------------------------ one call

def figures(session: Session, lo: dt.datetime, hi: dt.datetime, now: dt.datetime,
            by: str = "city", targets: Targets | Mapping[Any, Targets] | None = None,
            device_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Load and summarise: what the CLI, the pages and the PDF all call."""
    ids = list(device_ids) if device_ids is not None else None
    devices = load_devices(session, ids)
    intervals = load_intervals(session, lo, hi, ids)
    tol = targets.clock_tolerance_s if isinstance(targets, Targets) else 1.0
    clock = load_clock(session, lo, hi)
    per = device_seconds(devices, intervals, lo, hi, now, clock, tol)
    return summarize(devices, per, by, targets)
