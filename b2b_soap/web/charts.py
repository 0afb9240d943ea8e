"""A small server-rendered SVG bar chart: no JavaScript, readable without colour, with a text alternative."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Sequence

__all__ = ["Bar", "Series", "bar_chart"]

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 220, 40, 40, 10
# GOV.UK blue and dark grey: both pass 3:1 non-text contrast on white
COLOURS = ("#1d70b8", "#505a5f")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]


def bar_chart(days: Sequence[date], series: Sequence[Series]) -> dict:
    """Grouped bars per day, scaled to the largest value: what ``_chart.html`` draws."""
    top = max([v for s in series for v in s.values] + [1])
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.8 / max(len(series), 1), 1)
    bars = []
    for i, day in enumerate(days):
        for j, s in enumerate(series):
            h = plot_h * s.values[i] / top
            bars.append(Bar(round(LEFT + i * slot + slot * 0.1 + j * bar_w, 1), round(TOP + plot_h - h, 1),
                            round(bar_w, 1), round(h, 1), COLOURS[j % len(COLOURS)],
                            f"{day:%d %b}: {s.values[i]} {s.name.lower()}"))
    step = max(1, len(days) // 7)
    ticks = [(round(LEFT + i * slot + slot / 2, 1), f"{d:%d %b}") for i, d in enumerate(days) if i % step == 0]
    return {"width": WIDTH, "height": HEIGHT, "left": LEFT, "top": TOP, "bottom": HEIGHT - BOTTOM,
            "right": WIDTH - 10, "max": top, "bars": bars, "ticks": ticks,
            "legend": [(s.name, COLOURS[j % len(COLOURS)]) for j, s in enumerate(series)]}
