"""Small server-rendered SVG charts (no script, no library): bars, a stacked bar, lines.

Each chart is an ``<svg role="img">`` with a ``<title>`` naming it; the pages
put the same numbers in a table next to it for screen readers and copying.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 600


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    tone: str = "none"
    note: str = ""  # shown after the bar (a count, a percentage)


def _svg(height: int, title: str, body: str, cls: str) -> Markup:
    return Markup(
        f'<svg class="chart {cls}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        f'preserveAspectRatio="xMinYMin meet"><title>{escape(title)}</title>{body}</svg>'
    )


def hbars(bars: Sequence[Bar], title: str, *, maximum: float | None = None) -> Markup:
    """One horizontal bar per item, scaled to ``maximum`` (default: the largest value)."""
    top = maximum if maximum is not None else max((b.value for b in bars), default=0.0)
    label_w, bar_w, row = 170, 330, 28
    parts = []
    for i, b in enumerate(bars):
        y = 6 + i * row
        w = 0.0 if top <= 0 else max(0.0, min(1.0, b.value / top)) * bar_w
        parts.append(
            f'<text class="label" x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(b.label)}</text>'
            f'<rect class="track" x="{label_w}" y="{y}" width="{bar_w}" height="20" rx="3"/>'
            f'<rect class="bar tone-{escape(b.tone)}" x="{label_w}" y="{y}" width="{w:.1f}" height="20" rx="3">'
            f'<title>{escape(b.label)}: {escape(b.note or str(b.value))}</title></rect>'
            f'<text class="note" x="{label_w + bar_w + 8}" y="{y + 15}">{escape(b.note or str(b.value))}</text>'
        )
    return _svg(12 + row * len(bars), title, "".join(parts), "hbars")


def stacked(bars: Sequence[Bar], title: str) -> Markup:
    """One bar split into segments (values are counts), with a legend below."""
    total = sum(b.value for b in bars)
    x, parts, legend = 0.0, [], []
    shown = [b for b in bars if b.value > 0]
    for b in shown:
        w = WIDTH * b.value / total if total else 0.0
        parts.append(f'<rect class="bar seg tone-{escape(b.tone)}" x="{x:.1f}" y="4" width="{w:.1f}" height="30">'
                     f'<title>{escape(b.label)}: {b.value:g}</title></rect>')
        x += w
    if not shown:
        parts.append(f'<rect class="track" x="0" y="4" width="{WIDTH}" height="30"/>')
    for i, b in enumerate(shown):
        lx, ly = (i % 3) * 200, 56 + (i // 3) * 22
        legend.append(f'<rect class="bar tone-{escape(b.tone)}" x="{lx}" y="{ly - 11}" width="12" height="12"/>'
                      f'<text class="note" x="{lx + 18}" y="{ly}">{escape(b.label)} {b.value:g}</text>')
    rows = (len(shown) + 2) // 3
    return _svg(48 + 22 * max(rows, 1), title, "".join(parts + legend), "stacked")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # 0..100


def lines(series: Sequence[Series], x_labels: Sequence[str], title: str) -> Markup:
    """Percentages (0..100) over runs, one line per series, with a legend."""
    left, right, top, bottom = 40, WIDTH - 10, 10, 170
    n = len(x_labels)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (right - left) * (i / (n - 1) if n > 1 else 0.5)
        return x, bottom - (bottom - top) * max(0.0, min(100.0, v)) / 100

    parts = [f'<line class="axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>']
    for tick in (0, 50, 100):
        _, y = xy(0, tick)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"/>'
                     f'<text class="note" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for k, s in enumerate(series):
        points = [xy(i, v) for i, v in enumerate(s.values) if v is not None]
        if len(points) > 1:
            d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<path class="line s{k}" d="{d}"/>')
        for (x, y), v in zip(points, [v for v in s.values if v is not None]):
            parts.append(f'<circle class="dot s{k}" cx="{x:.1f}" cy="{y:.1f}" r="4">'
                         f'<title>{escape(s.name)}: {v:.1f}</title></circle>')
        lx = left + k * 200
        parts.append(f'<rect class="key s{k}" x="{lx}" y="{bottom + 26}" width="12" height="4"/>'
                     f'<text class="note" x="{lx + 18}" y="{bottom + 32}">{escape(s.name)}</text>')
    return _svg(bottom + 44, title, "".join(parts), "lines")
