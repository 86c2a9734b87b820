"""A device's state intervals as a plotly timeline, and the figures beside it. Pure: no
Flask, no database; the page passes the intervals and `now`.

The figure is a dict (plotly's JSON: `data` + `layout`) that the page hands to
Plotly.newPlot: one horizontal bar trace per state on a date axis (bar `base` = start,
length = duration in ms, as plotly.express.timeline draws it), each bar's hover text
giving the state, cause, reasons, start, end and duration. An open interval ends at `now`.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import plotly.graph_objects as go

from supervisor.health.rules import seconds_by_state

SPANS: dict[str, dt.timedelta] = {
    "day": dt.timedelta(days=1), "week": dt.timedelta(days=7), "month": dt.timedelta(days=30),
}
STATE_ORDER = ("ok", "degraded", "offline", "maintenance", "unknown")
COLORS = {"ok": "#1d7a3a", "degraded": "#a86a00", "offline": "#b3261e",
          "maintenance": "#5b4bb3", "unknown": "#9aa3af"}


@dataclass(frozen=True)
class Interval:
    state: str
    cause: str | None
    reasons: list[Any] = field(default_factory=list)
    flapping: bool = False
    start_at: dt.datetime = dt.datetime.min
    end_at: dt.datetime | None = None  # None: still open


def window(span: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[since, until) of the chart: the last day/week/month up to now."""
    return now - SPANS.get(span, SPANS["day"]), now


def clip(iv: Interval, since: dt.datetime, until: dt.datetime,
         now: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    start = max(iv.start_at, since)
    end = min(iv.end_at or now, until)
    return (start, end) if end > start else None


def totals(intervals: Iterable[Interval], since: dt.datetime, until: dt.datetime,
           now: dt.datetime) -> dict[str, float]:
    """Seconds per state inside the window (what the chart shows, exactly)."""
    out = seconds_by_state(intervals, since, until, now)
    out.pop("offline:upstream", None)  # a share of offline, not a state of its own
    return out


def describe_reason(reason: Any) -> str:
    """One reason dict as a short line: 'frame image_fault blur value=12.3 limit=50'."""
    if not isinstance(reason, Mapping):
        return str(reason)
    if reason.get("outside_scope"):  # redacted by inventory.links: no identity to show
        return str(reason.get("text") or "upstream device outside your contract is down")
    head = " ".join(str(reason[k]) for k in ("check", "code", "fault") if reason.get(k))
    rest = " ".join(f"{k}={v}" for k, v in reason.items()
                    if k not in ("check", "code", "fault") and v not in (None, "", [], {}))
    return (head + (" " + rest if rest else "")).strip()[:300]


def duration_text(seconds: float) -> str:
    seconds = int(round(seconds))
    d, rem = divmod(seconds, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    if d:
        return f"{d}d {h}h {m}m"
    if h:
        return f"{h}h {m}m"
    return f"{m}m {s}s" if m else f"{s}s"


def figure(intervals: Iterable[Interval], since: dt.datetime, until: dt.datetime,
           now: dt.datetime, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    labels = labels or {}
    by_state: dict[str, list[tuple[dt.datetime, dt.datetime, Interval]]] = {}
    for iv in intervals:
        span = clip(iv, since, until, now)
        if span:
            by_state.setdefault(iv.state, []).append((span[0], span[1], iv))
    fig = go.Figure()
    for state in sorted(by_state, key=lambda s: STATE_ORDER.index(s) if s in STATE_ORDER else 99):
        rows = by_state[state]
        name = labels.get(state, state)
        hover = []
        for start, end, iv in rows:
            lines = [f"<b>{_esc(name)}</b>" + (" (flapping)" if iv.flapping else "")]
            if iv.cause:
                lines.append(f"cause: {_esc(iv.cause)}")
            lines += [_esc(describe_reason(r)) for r in (iv.reasons or [])[:8]]
            lines.append(f"{iv.start_at:%Y-%m-%d %H:%M:%S} → "
                         + (f"{iv.end_at:%Y-%m-%d %H:%M:%S}" if iv.end_at else "now") + " UTC")
            lines.append(duration_text(((iv.end_at or now) - iv.start_at).total_seconds()))
            hover.append("<br>".join(lines))
        fig.add_trace(go.Bar(
            name=name, orientation="h", y=[name] * len(rows),
            base=[s.isoformat() for s, _, _ in rows],
            x=[(e - s).total_seconds() * 1000.0 for s, e, _ in rows],
            marker_color=COLORS.get(state, "#6b7280"), hovertext=hover, hoverinfo="text",
        ))
    fig.update_layout(
        barmode="overlay", height=90 + 36 * max(1, len(by_state)),
        margin={"l": 90, "r": 20, "t": 10, "b": 40}, showlegend=False,
        xaxis={"type": "date", "range": [since.isoformat(), until.isoformat()]},
        yaxis={"autorange": "reversed"}, plot_bgcolor="#ffffff",
    )
    return json.loads(fig.to_json())  # plotly's own encoder: plain JSON types only


def _esc(text: str) -> str:
    """Hover text is rendered as HTML by plotly: escape what a device could have sent."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def diagnosis_rows(diagnosis: Mapping[str, Any] | None) -> dict[str, Any]:
    """The stored diagnosis of a frame as rows for a table: faults and measures."""
    if not isinstance(diagnosis, Mapping):
        return {"faults": [], "measures": [], "error": None}
    faults = []
    for f in diagnosis.get("faults") or []:
        if isinstance(f, str):
            faults.append({"fault": f})
        elif isinstance(f, Mapping):
            faults.append(dict(f))
    measures = sorted((str(k), v) for k, v in (diagnosis.get("measures") or {}).items())
    return {"faults": faults, "measures": measures, "error": diagnosis.get("error"),
            "night": diagnosis.get("night")}
