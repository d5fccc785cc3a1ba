"""Charts drawn by the server as inline SVG: no script, no CDN, readable without either.

A grouped bar chart is all the statistics page needs (a few series over at most a few
dozen days); its geometry is computed here and drawn by ``admin/charts/bars.html``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

WIDTH, HEIGHT = 860, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 46


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    value: int
    label: str  # the tooltip: "3 ended on 2026-12-04"


@dataclass
class BarChart:
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, int]] = field(default_factory=list)  # (y, value)
    days: list[tuple[float, str]] = field(default_factory=list)  # (x centre, label)
    series: list[tuple[str, str]] = field(default_factory=list)  # (key, label)
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM


def nice_top(value: int) -> int:
    """The axis' top: 1, 2 or 5 times a power of ten, at or above ``value``."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def grouped_bars(rows: list[Any], series: list[tuple[str, str]], key: str = "day") -> BarChart:
    """One group of bars per row (a day), one bar per series (started, ended…)."""
    chart = BarChart(series=series)
    if not rows:
        return chart
    top = nice_top(max(getattr(row, name) for row in rows for name, _ in series))
    plot_height = chart.plot_bottom - TOP
    group = (chart.plot_right - chart.plot_left) / len(rows)
    bar = max(1.0, min(18.0, group * 0.8 / len(series)))
    for index, row in enumerate(rows):
        start = chart.plot_left + index * group + (group - bar * len(series)) / 2
        for position, (name, label) in enumerate(series):
            value = getattr(row, name)
            height = plot_height * value / top
            chart.bars.append(Bar(
                x=round(start + position * bar, 1), y=round(chart.plot_bottom - height, 1),
                width=round(bar - 1, 1), height=round(height, 1), series=name, value=value,
                label=f"{value} {label.lower()} — {getattr(row, key)}",
            ))
        chart.days.append((round(chart.plot_left + (index + 0.5) * group, 1),
                           str(getattr(row, key))[5:]))  # MM-DD
    steps = top if top <= 5 else (5 if str(top)[0] in "15" else 4)  # whole numbers
    chart.ticks = [(round(chart.plot_bottom - plot_height * part / steps, 1), top * part // steps)
                   for part in range(steps + 1)]
    return chart
