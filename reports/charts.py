"""Charts, defined once as a small spec and drawn two ways from it: plotly for the pages
(interactive) and plain SVG for the PDF (vector, no browser: kaleido would need a Chromium
and ~2.5 s to start it). Both drawings take the same numbers from the same spec.

A spec: {"title", "kind": "line"|"bar", "x": [labels], "series": [{"name", "values",
"dash"?}], "y_format": "pct"|"money"|"number", "y_min"?, "y_max"?}.
"""
from __future__ import annotations

from html import escape
from typing import Any, Sequence

COLORS = ("#1f5fa8", "#d9822b", "#2e8540", "#b5242a", "#6b4c9a", "#5f6b7a")


def spec(title: str, x: Sequence[str], series: list[dict[str, Any]], kind: str = "line",
         y_format: str = "pct", y_min: float | None = None, y_max: float | None = None
         ) -> dict[str, Any]:
    return {"title": title, "kind": kind, "x": list(x), "series": series, "y_format": y_format,
            "y_min": y_min, "y_max": y_max}


def _fmt(v: float | None, kind: str) -> str:
    if v is None:
        return "—"
    if kind == "pct":
        return f"{v * 100:.2f}%"
    if kind == "money":
        return f"{v:,.2f}"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:g}"


def to_plotly(s: dict[str, Any]) -> dict[str, Any]:
    """A plotly figure as a dict (Figure.to_dict() shape), for plotly.js on the page."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, ser in enumerate(s["series"]):
        color = COLORS[i % len(COLORS)]
        if s["kind"] == "bar":
            fig.add_bar(x=s["x"], y=ser["values"], name=ser["name"], marker_color=color)
        else:
            fig.add_scatter(x=s["x"], y=ser["values"], name=ser["name"], mode="lines+markers",
                            line={"color": color, "dash": ser.get("dash") or "solid"})
    fig.update_layout(title=s["title"], margin={"l": 50, "r": 10, "t": 40, "b": 40},
                      height=320, legend={"orientation": "h"})
    if s["y_format"] == "pct":
        fig.update_yaxes(tickformat=".1%")
    if s.get("y_min") is not None or s.get("y_max") is not None:
        fig.update_yaxes(range=[s.get("y_min"), s.get("y_max")])
    return fig.to_plotly_json()


def to_svg(s: dict[str, Any], width: int = 640, height: int = 260) -> str:
    """The same chart as standalone SVG text (axes, gridlines, series, legend)."""
    left, right, top, bottom = 64, 12, 28, 44
    pw, ph = width - left - right, height - top - bottom
    values = [v for ser in s["series"] for v in ser["values"] if v is not None]
    lo = s.get("y_min") if s.get("y_min") is not None else (min(values) if values else 0)
    hi = s.get("y_max") if s.get("y_max") is not None else (max(values) if values else 1)
    if s["kind"] == "bar":
        lo = min(lo, 0)
    if hi <= lo:
        hi = lo + (abs(lo) or 1) * 0.01 + 1e-9
    n = max(len(s["x"]), 1)

    def y(v: float) -> float:
        return top + ph - (v - lo) / (hi - lo) * ph

    def xc(i: int) -> float:
        return left + (i + 0.5) * pw / n

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-size="10" '
           'font-family="Noto Sans CJK SC, Noto Sans CJK JP, sans-serif">',
           f'<text x="{left}" y="16" font-size="12" font-weight="bold">{escape(s["title"])}</text>']
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        yy = y(v)
        out.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{left + pw}" y2="{yy:.1f}" '
                   'stroke="#ddd" stroke-width="0.6"/>')
        out.append(f'<text x="{left - 4}" y="{yy + 3:.1f}" text-anchor="end">'
                   f'{escape(_fmt(v, s["y_format"]))}</text>')
    step = max(1, n // 12)
    for i, label in enumerate(s["x"]):
        if i % step == 0:
            out.append(f'<text x="{xc(i):.1f}" y="{top + ph + 14}" text-anchor="middle">'
                       f'{escape(str(label))}</text>')
    out.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#555"/>')
    k_series = max(len(s["series"]), 1)
    for si, ser in enumerate(s["series"]):
        color = COLORS[si % len(COLORS)]
        if s["kind"] == "bar":
            bw = pw / n * 0.8 / k_series
            for i, v in enumerate(ser["values"]):
                if v is None:
                    continue
                x0 = left + i * pw / n + pw / n * 0.1 + si * bw
                y0, y1 = sorted((y(v), y(0 if lo <= 0 else lo)))
                out.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{bw:.1f}" '
                           f'height="{max(y1 - y0, 0.5):.1f}" fill="{color}"/>')
        else:
            pts = [(xc(i), y(v)) for i, v in enumerate(ser["values"]) if v is not None]
            dash = ' stroke-dasharray="5,3"' if ser.get("dash") else ""
            if pts:
                path = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
                out.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                           f'stroke-width="1.6"{dash}/>')
                out.extend(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2" fill="{color}"/>'
                           for a, b in pts)
        lx = left + si * 150
        out.append(f'<rect x="{lx}" y="{height - 12}" width="10" height="6" fill="{color}"/>'
                   f'<text x="{lx + 14}" y="{height - 6}">{escape(ser["name"])}</text>')
    out.append("</svg>")
    return "".join(out)
