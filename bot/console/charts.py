"""Small inline SVG charts for the dashboard (no script, no image files): a trend line and a bar."""
from __future__ import annotations

from markupsafe import Markup

WIDTH, HEIGHT, PAD = 200, 44, 3


def trend(values: list[float], label: str) -> Markup:
    """A line through the values, oldest left; the last point marked. Fewer than two values: a note instead."""
    if len(values) < 2:
        return Markup('<p class="hint">暂无趋势 no trend yet (one snapshot a day)</p>')
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / (len(values) - 1)
    points = [(PAD + i * step, HEIGHT - PAD - (v - low) / span * (HEIGHT - 2 * PAD)) for i, v in enumerate(values)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    last_x, last_y = points[-1]
    return Markup(
        f'<svg class="trend" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{Markup.escape(label)}"><polyline points="{path}" fill="none" stroke="#b5272d" '
        f'stroke-width="1.5"/><circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" fill="#b5272d"/></svg>')


def bar(part: int, whole: int, width: int = 180) -> Markup:
    filled = round(width * part / whole) if whole else 0
    return Markup(f'<svg width="{width}" height="10" viewBox="0 0 {width} 10" aria-hidden="true">'
                  f'<rect width="{width}" height="10" rx="5" fill="#eef0f3"/>'
                  f'<rect width="{max(filled, 0)}" height="10" rx="5" fill="#b5272d"/></svg>')
