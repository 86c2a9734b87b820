"""A device's state intervals as a plotly timeline, and the figures beside it. Pure: no
Flask, no database; the page passes the intervals, `now` and the words to show.

The figure is a dict (plotly's JSON: `data` + `layout`) that the page hands to
Plotly.newPlot: one horizontal bar trace per state on a date axis (bar `base` = start,
length = duration in ms, as plotly.express.timeline draws it), each bar's hover text
giving the state, cause, reasons, start, end and duration. An open interval ends at `now`.
The axis and the hover texts are in the reporting time zone (the stored times are UTC);
`Words` carries the page's language (labels, reason sentences, durations).

`shares` is what the percentages beside the chart are made of: only time the device was
probed counts (an `unknown` interval, or no interval at all — before the device was added,
or a gap in the record — is "no data", shown apart and never added to a state).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import plotly.graph_objects as go

from supervisor.core import localtime
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


@dataclass(frozen=True)
class Shares:
    """Seconds per state in a window, and each state's share of the probed time."""

    seconds: dict[str, float]
    probed_s: float
    no_data_s: float
    window_s: float

    def percent(self, state: str) -> float | None:
        if self.probed_s <= 0:
            return None
        return 100.0 * self.seconds.get(state, 0.0) / self.probed_s

    def rows(self) -> list[tuple[str, float, float | None]]:
        """(state, seconds, percent of probed time) in the chart's order."""
        order = sorted(self.seconds, key=lambda s: STATE_ORDER.index(s) if s in STATE_ORDER else 99)
        return [(s, self.seconds[s], self.percent(s)) for s in order]


def shares(intervals: Iterable[Interval], since: dt.datetime, until: dt.datetime,
           now: dt.datetime) -> Shares:
    """Shares of the window's probed time; unknown and unrecorded time is `no_data_s`."""
    until = min(until, now)
    window_s = max(0.0, (until - since).total_seconds())
    secs = totals(intervals, since, until, now)
    secs.pop("unknown", None)
    probed = sum(secs.values())
    return Shares(seconds=secs, probed_s=probed, no_data_s=max(0.0, window_s - probed),
                  window_s=window_s)


@dataclass(frozen=True)
class Words:
    """How the figure speaks: the page passes its language's labels and formats."""

    state: Callable[[str], str] = str
    cause: Callable[[str], str] = str
    reason: Callable[[Any], str] = lambda r: describe_reason(r)
    duration: Callable[[float], str] = lambda s: duration_text(s)
    flapping: str = "flapping"
    now: str = "now"


def describe_reason(reason: Any, limit: int = 300) -> str:
    """One reason dict as stored, on one line: 'frame image_fault blur value=12.3 limit=50'
    (the raw record a page shows behind its translated sentence)."""
    if not isinstance(reason, Mapping):
        return str(reason)
    if reason.get("outside_scope"):  # redacted by inventory.links: no identity to show
        return str(reason.get("text") or "upstream device outside your contract is down")
    head = " ".join(str(reason[k]) for k in ("check", "code", "fault") if reason.get(k))
    rest = " ".join(f"{k}={v}" for k, v in reason.items()
                    if k not in ("check", "code", "fault") and v not in (None, "", [], {}))
    return (head + (" " + rest if rest else "")).strip()[:limit]


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


def _local_iso(utc_naive: dt.datetime) -> str:
    """Plotly's date axis has no zone: hand it reporting-zone wall-clock times."""
    local = localtime.to_local(utc_naive)
    return local.replace(tzinfo=None).isoformat() if local is not None else ""


def figure(intervals: Iterable[Interval], since: dt.datetime, until: dt.datetime,
           now: dt.datetime, labels: Mapping[str, str] | None = None,
           words: Words | None = None) -> dict[str, Any]:
    words = words or Words()
    labels = labels or {}
    by_state: dict[str, list[tuple[dt.datetime, dt.datetime, Interval]]] = {}
    for iv in intervals:
        span = clip(iv, since, until, now)
        if span:
            by_state.setdefault(iv.state, []).append((span[0], span[1], iv))
    fig = go.Figure()
    for state in sorted(by_state, key=lambda s: STATE_ORDER.index(s) if s in STATE_ORDER else 99):
        rows = by_state[state]
        name = labels.get(state) or words.state(state)
        hover = []
        for start, end, iv in rows:
            lines = [f"<b>{_esc(name)}</b>" + (f" ({_esc(words.flapping)})" if iv.flapping else "")]
            if iv.cause:
                lines.append(_esc(words.cause(iv.cause)))
            lines += [_esc(words.reason(r)) for r in (iv.reasons or [])[:8]]
            lines.append(localtime.fmt_local(iv.start_at, seconds=True) + " → "
                         + (localtime.fmt_local(iv.end_at, seconds=True) if iv.end_at
                            else _esc(words.now)))
            lines.append(_esc(words.duration(((iv.end_at or now) - iv.start_at).total_seconds())))
            hover.append("<br>".join(lines))
        fig.add_trace(go.Bar(
            name=name, orientation="h", y=[name] * len(rows),
            base=[_local_iso(s) for s, _, _ in rows],
            x=[(e - s).total_seconds() * 1000.0 for s, e, _ in rows],
            marker_color=COLORS.get(state, "#6b7280"), hovertext=hover, hoverinfo="text",
        ))
    fig.update_layout(
        barmode="overlay", height=90 + 36 * max(1, len(by_state)),
        margin={"l": 90, "r": 20, "t": 10, "b": 40}, showlegend=False,
        xaxis={"type": "date", "range": [_local_iso(since), _local_iso(until)]},
        yaxis={"autorange": "reversed"}, plot_bgcolor="#ffffff",
    )
    return json.loads(fig.to_json())  # plotly's own encoder: plain JSON types only


def _esc(text: str) -> str:
    """Hover text is rendered as HTML by plotly: escape what a device could have sent."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def measure_rows(measures: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(name, value, uncertainty) per measured value, by name: a measure's uncertainty
    (recorded as its name + "_u") is shown beside it, not as a row of its own."""
    names = {str(k) for k in measures}
    rows = []
    for k, v in measures.items():
        k = str(k)
        if k.endswith("_u") and k[:-2] in names:
            continue
        rows.append((k, v, measures.get(k + "_u")))
    return sorted(rows, key=lambda r: r[0])


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
    return {"faults": faults, "measures": measure_rows(diagnosis.get("measures") or {}),
            "error": diagnosis.get("error"),
            "night": diagnosis.get("night")}
