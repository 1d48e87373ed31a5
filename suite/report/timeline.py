"""A small picture of an app's answers over time: one row per variant, green while CONNECTED, red
while not, with the moments that matter (rotations) as labelled lines. Inline SVG for the report."""
from __future__ import annotations

from html import escape
from typing import Sequence

WIDTH, ROW, LABEL, TOP = 720, 26, 110, 22
COLOURS = {"CONNECTED": "#2e7d32"}
OTHER = "#c62828"


def timeline_svg(rows: dict[str, Sequence[tuple[float, str]]], marks: Sequence[tuple[float, str]],
                 start: float, end: float) -> str:
    """`rows`: variant -> [(time, status)] in order; `marks`: [(time, what)]."""
    span = max(end - start, 1e-6)
    scale = (WIDTH - LABEL - 10) / span
    x = lambda moment: LABEL + (min(max(moment, start), end) - start) * scale  # noqa: E731
    height = TOP + ROW * len(rows) + 18
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" class="timeline" '
             f'font-family="sans-serif" font-size="11" shape-rendering="crispEdges">']
    for index, (variant, samples) in enumerate(rows.items()):
        y = TOP + index * ROW
        parts.append(f'<text x="4" y="{y + 15}">{escape(variant)}</text>')
        for (moment, status), (following, _) in zip(samples, [*samples[1:], (end, "")]):
            if following <= start or moment >= end:
                continue
            colour = COLOURS.get(status, OTHER)
            parts.append(f'<rect x="{x(moment):.1f}" y="{y + 3}" width="{max(x(following) - x(moment), 0.5):.1f}" '
                         f'height="{ROW - 8}" fill="{colour}"><title>{escape(status)}</title></rect>')
    for moment, what in marks:
        parts.append(f'<line x1="{x(moment):.1f}" y1="{TOP - 4}" x2="{x(moment):.1f}" y2="{height - 16}" '
                     f'stroke="#333" stroke-dasharray="3,2"/>'
                     f'<text x="{x(moment) + 2:.1f}" y="{TOP - 8}">{escape(what)}</text>')
    parts.append(f'<text x="{LABEL}" y="{height - 3}">0 s</text>'
                 f'<text x="{WIDTH - 40}" y="{height - 3}">{span:.1f} s</text>'
                 f'<text x="{LABEL + 60}" y="{height - 3}" fill="{COLOURS["CONNECTED"]}">CONNECTED</text>'
                 f'<text x="{LABEL + 150}" y="{height - 3}" fill="{OTHER}">DISCONNECTED</text></svg>')
    return "".join(parts)
