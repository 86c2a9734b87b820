"""What each report shows, assembled from the figures and the ledger: plain dicts and lists
the pages, the exports and the PDF all render (so they show the same numbers). No Flask.

`device_ids` is the reader's scope (None: every device), decided by the caller from
supervisor/core/scoping.py.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Sequence

import pandas as pd
from sqlalchemy.orm import Session

from reports import charts, periods
import supervisor.core.localtime as localtime
from reports.figures import (Targets, coverage, device_seconds, load_clock, load_devices,
                             load_intervals, summarize)


def month_range(last: periods.Period, n: int) -> list[periods.Period]:
    out = []
    first = periods.add_months(last.first, -(n - 1))
    for k in range(n):
        d = periods.add_months(first, k)
        out.append(periods.month(d.year, d.month))
    return out


def series(session: Session, months: Sequence[periods.Period], now: dt.datetime, by: str,
           targets: Targets | None, device_ids: Iterable[int] | None = None
           ) -> dict[str, list[dict[str, Any]]]:
    """Figures per month (label → rows), loading devices and intervals once for the span."""
    ids = list(device_ids) if device_ids is not None else None
    devices = load_devices(session, ids)
    lo, hi = months[0].lo, months[-1].hi
    ivs = load_intervals(session, lo, hi, ids)
    tol = targets.clock_tolerance_s if targets else 1.0
    clock = load_clock(session, lo, hi, tol)
    out = {}
    for m in months:
        if m.lo >= now:
            out[m.label] = []
            continue
        sub = ivs[(ivs["start_at"] < m.hi) & (ivs["end_at"].isna() | (ivs["end_at"] > m.lo))]
        c = clock[(clock["at"] >= m.lo) & (clock["at"] < m.hi)] if len(clock) else clock
        per = device_seconds(devices, sub, m.lo, m.hi, now, c, tol)
        out[m.label] = summarize(devices, per, by, targets)
    return out


def trend_chart(by_month: dict[str, list[dict[str, Any]]], title: str,
                targets: Targets | None) -> dict[str, Any]:
    labels = list(by_month)
    online = [rows[0]["online_rate"] if rows else None for rows in by_month.values()]
    intact = [rows[0]["intact_rate"] if rows else None for rows in by_month.values()]
    ser = [{"name": "online", "values": online}, {"name": "intact", "values": intact}]
    if targets and targets.online_rate is not None:
        ser.append({"name": "target", "values": [targets.online_rate] * len(labels), "dash": "dash"})
    vals = [v for v in online + intact if v is not None]
    low = min(vals + [targets.online_rate if targets and targets.online_rate else 1.0]) if vals else 0.9
    return charts.spec(title, labels, ser, "line", "pct", y_min=max(0.0, low - 0.01), y_max=1.0)


def dashboard(session: Session, month: periods.Period, now: dt.datetime, targets: Targets,
              slots: dict[str, dict[str, int]], device_ids: Iterable[int] | None = None
              ) -> dict[str, Any]:
    ids = list(device_ids) if device_ids is not None else None
    months = month_range(month, 12)
    by_month = series(session, months, now, "city", targets, ids)
    today = periods.day(localtime.to_local(now).date())
    today_rows = series(session, [today], now, "city", targets, ids)[today.label]
    month_rows = by_month[month.label]
    devices = load_devices(session, ids)
    ivs = load_intervals(session, month.lo, month.hi, ids)
    per = device_seconds(devices, ivs, month.lo, month.hi, now)
    communities = summarize(devices, per, "community", targets)
    worst = sorted([r for r in communities if r["online_rate"] is not None],
                   key=lambda r: (r["online_rate"], r["intact_rate"] or 0))[:10]
    cov = coverage(devices, ivs, month.lo, month.hi, now, slots, "community")
    city_cov = coverage(devices, ivs, month.lo, month.hi, now, slots, "city")
    return {"month": month, "today": today_rows[0] if today_rows else None,
            "tickets": open_tickets_by_age(session, now, ids),
            "city": month_rows[0] if month_rows else None,
            "trend": by_month, "trend_chart": trend_chart(by_month, "online / intact", targets),
            "worst": worst, "communities": communities, "coverage": cov,
            "city_coverage": city_cov[0] if city_cov else None,
            "map": community_points(devices, communities)}


AGE_BUCKETS = ((4, "< 4 h"), (24, "4–24 h"), (72, "1–3 d"), (None, "> 3 d"))


def open_tickets_by_age(session: Session, now: dt.datetime,
                        device_ids: Iterable[int] | None = None) -> list[dict[str, Any]] | None:
    """Tickets not closed, counted by age and severity (None when the platform has no
    tickets table). Scoped by the ticket's root device."""
    import sqlalchemy as sa

    import supervisor.models as models

    ticket = getattr(models, "Ticket", None)
    if ticket is None:
        return None
    q = sa.select(ticket.severity, ticket.opened_at).where(ticket.closed_at.is_(None),
                                                           ticket.state != "closed")
    if device_ids is not None:
        q = q.where(ticket.device_id.in_(list(device_ids)))
    rows = {label: {"age": label, "total": 0} for _, label in AGE_BUCKETS}
    for severity, opened in session.execute(q):
        hours = (now - opened).total_seconds() / 3600
        label = next(lb for limit, lb in AGE_BUCKETS if limit is None or hours < limit)
        rows[label]["total"] += 1
        rows[label][severity] = rows[label].get(severity, 0) + 1
    return list(rows.values())


def community_points(devices: pd.DataFrame, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Communities with coordinates and their month's online rate (for the map)."""
    where = devices.drop_duplicates("community").set_index("community")[["c_lat", "c_lon"]]
    out = []
    for r in rows:
        if r["group"] in where.index:
            lat, lon = where.loc[r["group"], "c_lat"], where.loc[r["group"], "c_lon"]
            if pd.notna(lat) and pd.notna(lon):
                out.append({"name": r["group"], "lat": float(lat), "lon": float(lon),
                            "online_rate": r["online_rate"], "intact_rate": r["intact_rate"]})
    return out


def map_figure(points: list[dict[str, Any]], tile_url: str | None) -> dict[str, Any]:
    """Communities coloured by online rate (grey: nothing measured): on map tiles when a tile
    source is configured (MapLibre via plotly's scattermap), else on plain longitude/latitude
    axes, which need no network."""
    import plotly.graph_objects as go

    def label(p: dict[str, Any]) -> str:
        rate = p["online_rate"]
        return f"{p['name']} {rate * 100:.2f}%" if rate is not None else p["name"]

    groups = [([p for p in points if p["online_rate"] is not None], True),
              ([p for p in points if p["online_rate"] is None], False)]
    fig = go.Figure()
    for pts, measured in groups:
        if not pts:
            continue
        marker: dict[str, Any] = {"size": 10}
        if measured:
            marker.update(color=[p["online_rate"] for p in pts], colorscale="RdYlGn", cmin=0.9,
                          cmax=1.0, colorbar={"tickformat": ".0%"})
        else:
            marker.update(color="#9aa0a6")
        kw = dict(lat=[p["lat"] for p in pts], lon=[p["lon"] for p in pts],
                  text=[label(p) for p in pts], mode="markers", marker=marker, showlegend=False)
        if tile_url:
            fig.add_trace(go.Scattermap(**kw))
        else:
            fig.add_trace(go.Scatter(x=kw.pop("lon"), y=kw.pop("lat"), **kw))
    if tile_url:
        lat = [p["lat"] for p in points]
        lon = [p["lon"] for p in points]
        center = {"lat": sum(lat) / len(lat), "lon": sum(lon) / len(lon)} if lat else {}
        fig.update_layout(map={"style": "white-bg", "center": center, "zoom": 11, "layers": [
            {"below": "traces", "sourcetype": "raster", "source": [tile_url]}]})
    else:
        fig.update_xaxes(title="longitude")
        fig.update_yaxes(title="latitude", scaleanchor="x")
    fig.update_layout(height=420, margin={"l": 40, "r": 10, "t": 10, "b": 40})
    return fig.to_plotly_json()


def ledger_chart(rows: Sequence[Any], investment: Any, title: str) -> dict[str, Any]:
    labels = [r.month for r in rows]
    cumulative = [float(r.cumulative) for r in rows]
    earned = [float(r.payable) for r in rows]
    return charts.spec(title, labels, [
        {"name": "cumulative", "values": cumulative},
        {"name": "investment", "values": [float(investment)] * len(rows), "dash": "dash"},
    ], "line", "money", y_min=0)


def monthly_bars(rows: Sequence[Any], title: str) -> dict[str, Any]:
    return charts.spec(title, [r.month for r in rows], [
        {"name": "instalment", "values": [float(r.instalment) for r in rows]},
        {"name": "payable", "values": [float(r.payable) for r in rows]},
    ], "bar", "money", y_min=0)


def evidence_map(found: Sequence[Any], point: tuple[float, float] | None,
                 tile_url: str | None, labels: dict[str, str]) -> dict[str, Any] | None:
    """The cameras found, coloured by whether they were working over the window (green:
    online, clear and recording; red: not; grey: not measured), each with its field of view,
    and the point asked about; on map tiles when configured, else on plain lon/lat axes.
    `labels`: the legend's words in the reader's language (keys ok, bad, unknown, point)."""
    import plotly.graph_objects as go

    from reports.evidence import view_outline

    placed = [f for f in found if f.latitude is not None and f.longitude is not None]
    if not placed and point is None:
        return None
    fig = go.Figure()
    geo = go.Scattermap if tile_url else go.Scatter

    def trace(lats: list[float], lons: list[float], **kw: Any) -> Any:
        if tile_url:
            return geo(lat=lats, lon=lons, **kw)
        return geo(x=lons, y=lats, **kw)

    for f in placed:
        outline = view_outline(f)
        if outline is not None:
            fig.add_trace(trace(outline[0], outline[1], mode="lines", fill="toself",
                                line={"width": 1, "color": "#7aa6d8"}, hoverinfo="skip",
                                showlegend=False))

    def verdict(f: Any) -> str:
        vals = (f.online, f.clear, f.recording)
        if any(v is None for v in vals):
            return "unknown"
        return "ok" if all(vals) else "bad"

    colours = {"ok": "#1a7f37", "bad": "#cf222e", "unknown": "#9aa0a6"}
    for key in ("ok", "bad", "unknown"):
        pts = [f for f in placed if verdict(f) == key]
        if pts:
            fig.add_trace(trace([f.latitude for f in pts], [f.longitude for f in pts],
                                mode="markers+text", text=[f.serial for f in pts],
                                textposition="top center", name=labels.get(key, key),
                                marker={"size": 11, "color": colours[key]}))
    if point is not None:
        fig.add_trace(trace([point[0]], [point[1]], mode="markers", name=labels.get("point", "point"),
                            marker={"size": 14, "color": "#000000", "symbol": "x" if not tile_url
                                    else "circle"}))
    lats = [f.latitude for f in placed] + ([point[0]] if point else [])
    lons = [f.longitude for f in placed] + ([point[1]] if point else [])
    if tile_url:
        fig.update_layout(map={"style": "white-bg", "zoom": 16,
                               "center": {"lat": sum(lats) / len(lats), "lon": sum(lons) / len(lons)},
                               "layers": [{"below": "traces", "sourcetype": "raster",
                                           "source": [tile_url]}]})
    else:
        fig.update_xaxes(title="longitude")
        fig.update_yaxes(title="latitude", scaleanchor="x")
    fig.update_layout(height=420, margin={"l": 40, "r": 10, "t": 10, "b": 40})
    return fig.to_plotly_json()
