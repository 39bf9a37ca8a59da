"""Small charts as inline SVG for the HTML report: no script, no network, every label escaped.

Each function returns one ``<svg>`` element as text, with a ``<title>`` per bar
or cell so that hovering shows the exact numbers, and a ``data-chart`` name so
that a page (or a test) can find it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np

FONT = 'font-family="system-ui, sans-serif" font-size="11"'
AXIS = "#6b7280"
GRID = "#e5e7eb"


def _attr(text: object) -> str:
    return escape(str(text), quote=True)


def _open(name: str, label: str, width: int, height: int) -> str:
    return (
        f'<svg class="chart" data-chart="{_attr(name)}" role="img" aria-label="{_attr(label)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg" {FONT}>'
    )


def _ticks(top: float) -> list[float]:
    """Up to five round values from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / 4
    magnitude = 10 ** np.floor(np.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [float(step * i) for i in range(int(np.ceil(top / step)) + 1)]


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def bar_chart(
    name: str,
    label: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    x_label: str,
    y_label: str,
    width: int = 560,
    height: int = 260,
) -> str:
    """Vertical bars, stacked when there is more than one series.

    Args:
        name: the ``data-chart`` name.
        label: what the chart shows, for screen readers.
        categories: one label per bar.
        series: (name, one value per category, colour) each; drawn bottom to top.
        x_label, y_label: axis titles.
    """
    left, right, top, bottom = 60, 12, 40 if len(series) > 1 else 24, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = np.sum([list(values) for _, values, _ in series], axis=0) if series else np.zeros(len(categories))
    ticks = _ticks(float(totals.max()) if len(categories) else 0.0)
    scale = plot_h / ticks[-1]
    slot = plot_w / max(len(categories), 1)
    bar = max(slot * 0.72, 1.0)
    widest = max((len(c) for c in categories), default=1) * 6.5 + 6  # about 6.5 px a character at 11 px
    stride = int(np.ceil(widest / slot))  # label every stride-th bar so that labels never overlap
    parts = [_open(name, label, width, height)]
    for tick in ticks:
        y = top + plot_h - tick * scale
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{AXIS}">{_number(tick)}</text>')
    for index, category in enumerate(categories):
        x = left + index * slot + (slot - bar) / 2
        base = float(top + plot_h)
        for series_name, values, colour in series:
            value = float(values[index])
            if value <= 0:
                continue
            h = value * scale
            base -= h
            tip = f"{category}: {_number(value)} {series_name}"
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(tip)}</title></rect>"
            )
        if totals[index] > 0 and bar >= 14:  # the total above the bar: small bars stay readable
            parts.append(
                f'<text class="total" x="{x + bar / 2:.1f}" y="{base - 4:.1f}" text-anchor="middle">'
                f"{_number(float(totals[index]))}</text>"
            )
        if index % stride == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" fill="{AXIS}">'
                f"{escape(category)}</text>"
            )
    middle = left + plot_w / 2
    parts.append(f'<text x="{middle:.1f}" y="{height - 6}" text-anchor="middle" fill="{AXIS}">{escape(x_label)}</text>')
    parts.append(
        f'<text transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle" fill="{AXIS}">'
        f"{escape(y_label)}</text>"
    )
    if len(series) > 1:
        x = left
        for series_name, _, colour in series:
            parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>')
            parts.append(f'<text x="{x + 14}" y="15">{escape(series_name)}</text>')
            x += 24 + 7 * len(series_name)
    parts.append("</svg>")
    return "".join(parts)


def share_bars(name: str, label: str, rows: Sequence[tuple[str, float]], colour: str, width: int = 560) -> str:
    """Horizontal bars of shares in [0, 1], one row per labelled item (long labels are cut, the tooltip has all)."""
    row_h, label_w, right = 18, 190, 48
    height = row_h * len(rows) + 8
    plot_w = width - label_w - right
    parts = [_open(name, label, width, height)]
    for index, (item, share) in enumerate(rows):
        y = 4 + index * row_h
        shown = item if len(item) <= 30 else item[:29] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{escape(shown)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{plot_w}" height="{row_h - 5}" fill="{GRID}"/>')
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{plot_w * share:.1f}" height="{row_h - 5}" '
            f'fill="{colour}"><title>{escape(item)}: {share:.1%}</title></rect>'
        )
        parts.append(f'<text x="{label_w + plot_w + 6}" y="{y + 12}" fill="{AXIS}">{share:.0%}</text>')
    parts.append("</svg>")
    return "".join(parts)


def heatmap(name: str, label: str, names: Sequence[str], matrix: np.ndarray, max_size: int = 560) -> str:
    """A square matrix of shares in [0, 1]: row ``a``, column ``b`` is how much of ``a`` stands in ``b``.

    Labels are drawn when there are few enough rows to read them; every
    non-empty cell has a tooltip naming both documents.
    """
    n = len(names)
    labelled = n <= 40
    margin = 172 if labelled else 24
    cell = max(min((max_size - margin) / max(n, 1), 36.0), 1.0)
    size = margin + cell * n + 4
    parts = [_open(name, label, int(size), int(size))]
    parts.append(
        f'<rect x="{margin}" y="{margin}" width="{cell * n:.1f}" height="{cell * n:.1f}" fill="#f9fafb" '
        f'stroke="{GRID}"/>'
    )
    for a in range(n):  # the diagonal, to find one's way
        parts.append(
            f'<rect x="{margin + a * cell:.1f}" y="{margin + a * cell:.1f}" width="{cell:.1f}" height="{cell:.1f}" '
            f'fill="{GRID}"/>'
        )
    for a, b in zip(*np.nonzero(matrix), strict=True):
        share = float(matrix[a, b])
        shade = int(235 - 200 * share)
        parts.append(
            f'<rect class="cell" x="{margin + b * cell:.1f}" y="{margin + a * cell:.1f}" width="{cell:.1f}" '
            f'height="{cell:.1f}" fill="rgb({shade},{shade + 10},255)"><title>{escape(names[a])} in '
            f"{escape(names[b])}: {share:.0%}</title></rect>"
        )
    # The colour scale, in the corner the labels leave free.
    parts.append(
        '<defs><linearGradient id="containment-scale"><stop offset="0" stop-color="rgb(235,245,255)"/>'
        '<stop offset="1" stop-color="rgb(35,45,255)"/></linearGradient></defs>'
        f'<text x="4" y="14" fill="{AXIS}">0%</text><rect x="26" y="5" width="60" height="11" '
        f'fill="url(#containment-scale)"/><text x="90" y="14" fill="{AXIS}">100%</text>'
    )
    if labelled:
        for index, item in enumerate(names):
            shown = escape(item if len(item) <= 24 else item[:23] + "…")
            middle = margin + (index + 0.5) * cell + 4  # + 4: about half the text's height, to centre it
            parts.append(f'<text x="{margin - 6}" y="{middle:.1f}" text-anchor="end">{shown}</text>')
            parts.append(f'<text transform="translate({middle:.1f} {margin - 6}) rotate(-90)">{shown}</text>')
    parts.append("</svg>")
    return "".join(parts)
