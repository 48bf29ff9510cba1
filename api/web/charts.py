"""Small server-rendered SVG charts (no script, no library): bars, a stacked bar, lines.

Each chart is an ``<svg role="img">`` with a ``<title>`` naming it; the pages
put the same numbers in a table next to it for screen readers and copying.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Drawing widths (SVG user units). The bar charts are drawn narrow enough to fit a 400 px screen at about
#: their natural size and are capped in CSS on wide screens; the trend is drawn twice, wide and narrow, and
#: the stylesheet shows the one that fits (no script, no inline style: the pages' CSP allows neither).
WIDTH = 360
WIDE = 640


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    tone: str = "none"
    note: str = ""  # shown after the bar (a count, a percentage)


def text_width(text: str, size: float = 13.0) -> float:
    """About how wide ``text`` is drawn at ``size`` px: CJK and fullwidth characters a full em, others ~0.6 em."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


def _svg(width: int | float, height: int, title: str, body: str, cls: str) -> Markup:
    return Markup(
        f'<svg class="chart {cls}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'preserveAspectRatio="xMinYMin meet"><title>{escape(title)}</title>{body}</svg>'
    )


def hbars(bars: Sequence[Bar], title: str, *, maximum: float | None = None) -> Markup:
    """One horizontal bar per item, scaled to ``maximum`` (default: the largest value)."""
    top = maximum if maximum is not None else max((b.value for b in bars), default=0.0)
    label_w = 8 + max((text_width(b.label) for b in bars), default=40.0)
    note_w = 8 + max((text_width(b.note or str(b.value)) for b in bars), default=20.0)
    bar_w, row = max(60.0, WIDTH - label_w - note_w), 26
    label_w = WIDTH - note_w - bar_w
    parts = []
    for i, b in enumerate(bars):
        y = 6 + i * row
        w = 0.0 if top <= 0 else max(0.0, min(1.0, b.value / top)) * bar_w
        parts.append(
            f'<text class="label" x="{label_w - 6:.1f}" y="{y + 14}" text-anchor="end">{escape(b.label)}</text>'
            f'<rect class="track" x="{label_w:.1f}" y="{y}" width="{bar_w:.1f}" height="18" rx="3"/>'
            f'<rect class="bar tone-{escape(b.tone)}" x="{label_w:.1f}" y="{y}" width="{w:.1f}" height="18" rx="3">'
            f'<title>{escape(b.label)}: {escape(b.note or str(b.value))}</title></rect>'
            f'<text class="note" x="{label_w + bar_w + 6:.1f}" y="{y + 14}">{escape(b.note or str(b.value))}</text>'
        )
    return _svg(WIDTH, 12 + row * len(bars), title, "".join(parts), "hbars")


def stacked(bars: Sequence[Bar], title: str) -> Markup:
    """One bar split into segments (values are counts), with a legend below, two entries a row."""
    total = sum(b.value for b in bars)
    x, parts, legend = 0.0, [], []
    shown = [b for b in bars if b.value > 0]
    for b in shown:
        w = WIDTH * b.value / total if total else 0.0
        parts.append(f'<rect class="bar seg tone-{escape(b.tone)}" x="{x:.1f}" y="4" width="{w:.1f}" height="26">'
                     f'<title>{escape(b.label)}: {b.value:g}</title></rect>')
        x += w
    if not shown:
        parts.append(f'<rect class="track" x="0" y="4" width="{WIDTH}" height="26"/>')
    for i, b in enumerate(shown):
        lx, ly = (i % 2) * (WIDTH // 2), 52 + (i // 2) * 22
        legend.append(f'<rect class="bar tone-{escape(b.tone)}" x="{lx}" y="{ly - 11}" width="12" height="12"/>'
                      f'<text class="note" x="{lx + 18}" y="{ly}">{escape(b.label)} {b.value:g}</text>')
    rows = (len(shown) + 1) // 2
    return _svg(WIDTH, 44 + 22 * max(rows, 1), title, "".join(parts + legend), "stacked")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # 0..100


def lines(series: Sequence[Series], x_labels: Sequence[str], title: str) -> Markup:
    """Percentages (0..100) over runs, one line per series: drawn wide and narrow (the stylesheet shows one)."""
    return Markup(_lines(series, x_labels, title, WIDE, "wide") + _lines(series, x_labels, title, WIDTH, "narrow"))


def _lines(series: Sequence[Series], x_labels: Sequence[str], title: str, width: int, fit: str) -> Markup:
    left, right, top, bottom = 34, width - 14, 10, 150
    n = len(x_labels)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (right - left) * (i / (n - 1) if n > 1 else 0.5)
        return x, bottom - (bottom - top) * max(0.0, min(100.0, v)) / 100

    parts = [f'<line class="axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>']
    for tick in (0, 50, 100):
        _, y = xy(0, tick)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"/>'
                     f'<text class="note" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for i in _x_ticks(n, 6 if fit == "wide" else 3):
        x, _ = xy(i, 0)
        anchor = "start" if n > 1 and i == 0 else "end" if n > 1 and i == n - 1 else "middle"
        parts.append(f'<text class="note tick" x="{x:.1f}" y="{bottom + 16}" text-anchor="{anchor}">'
                     f'{escape(x_labels[i])}</text>')
    for k, s in enumerate(series):
        points = [(xy(i, v), v) for i, v in enumerate(s.values) if v is not None]
        if len(points) > 1:
            d = "M" + " L".join(f"{x:.1f},{y:.1f}" for (x, y), _ in points)
            parts.append(f'<path class="line s{k}" d="{d}"/>')
        for (x, y), v in points:
            parts.append(f'<circle class="dot s{k}" cx="{x:.1f}" cy="{y:.1f}" r="4">'
                         f'<title>{escape(s.name)}: {v:.1f}</title></circle>')
    per_row = 3 if fit == "wide" else 1
    for k, s in enumerate(series):
        lx = left + (k % per_row) * ((right - left) // per_row)
        ly = bottom + 38 + (k // per_row) * 18
        parts.append(f'<rect class="key s{k}" x="{lx}" y="{ly - 6}" width="12" height="4"/>'
                     f'<text class="note" x="{lx + 18}" y="{ly}">{escape(s.name)}</text>')
    rows = -(-len(series) // per_row)
    return _svg(width, bottom + 30 + 18 * rows, title, "".join(parts), f"lines fit-{fit}")


def _x_ticks(n: int, most: int) -> list[int]:
    """Which runs get a date under the axis: the first, the last, and evenly spaced ones between."""
    if n <= most:
        return list(range(n))
    step = (n - 1) / (most - 1)
    return sorted({round(i * step) for i in range(most)})
