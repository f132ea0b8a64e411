"""Small server-rendered charts: the geometry of a line chart over dates, which the
`web/_charts.html` macro draws as inline SVG (no script, nothing from the member inside the
SVG but escaped text), always beside a text alternative."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

WIDTH, HEIGHT = 320, 120
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 34, 10, 8, 22


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    day: date
    value: float


@dataclass(frozen=True)
class Trace:
    label: str
    points: list[Point]

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    traces: list[Trace]
    y_ticks: list[Tick]
    x_ticks: list[Tick] = field(default_factory=list)
    plot: tuple[float, float, float, float] = (0, 0, 0, 0)  # left, top, right, bottom

    @property
    def empty(self) -> bool:
        return not any(t.points for t in self.traces)


def line_chart(
    series: list[tuple[str, list[tuple[date, float]]]],
    start: date,
    end: date,
    y_max: float | None = 100,
    y_unit: str = "%",
    date_label=None,
) -> LineChart:
    """Each (label, [(day, value)]) as a trace from `start` to `end` (widened to the data),
    values from 0 to `y_max` (the data's maximum, rounded up, when None)."""
    days = [d for _label, points in series for d, _v in points]
    first, last = min([start, *days]), max([end, *days])
    span = max((last - first).days, 1)
    values = [v for _label, points in series for _d, v in points]
    top = y_max if y_max is not None else _nice(max(values, default=0))
    left, right = PAD_LEFT, WIDTH - PAD_RIGHT
    upper, lower = PAD_TOP, HEIGHT - PAD_BOTTOM

    def x_of(day: date) -> float:
        return left + (right - left) * (day - first).days / span

    def y_of(value: float) -> float:
        return lower - (lower - upper) * (min(max(value, 0), top) / top if top else 0)

    traces = [
        Trace(label, [Point(x_of(d), y_of(v), d, v) for d, v in sorted(points)])
        for label, points in series
    ]
    y_ticks = [Tick(y_of(v), f"{_number(v)}{y_unit}") for v in (0, top / 2, top)]
    label = date_label or (lambda d: d.isoformat())
    x_ticks = [Tick(x_of(first), label(first)), Tick(x_of(last), label(last))]
    return LineChart(WIDTH, HEIGHT, traces, y_ticks, x_ticks, (left, upper, right, lower))


def _nice(value: float) -> float:
    """A round upper bound for counts: 1, 2, 5, 10, 20, 50 …"""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= value)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
