"""What an XmR chart is drawn from: its points, limit bands, Do window and the whole chart
(XmrSvg) as plain data for templates/charts/_xmr.html; kaizen.charts.xmr computes them."""

from __future__ import annotations

from dataclasses import dataclass

from funnel.metrics.xmr import XmrLimits
from kaizen.charts.layout import TOP, WIDE, Divider, MarginLabel, Tick

WIDTH, HEIGHT = WIDE.width, WIDE.height


@dataclass(frozen=True)
class FrozenBaseline:
    """A PDCA cycle's chart: ``limits`` (None: too few baseline weeks) hold for every period;
    the periods from ``do_start`` on are the Do window, ``do_mean`` its pooled value."""

    limits: XmrLimits | None
    do_start: int | None = None
    do_mean: float | None = None


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # the period, e.g. "16 Nov 2026"
    value: str
    title: str  # the tooltip: period, value, volume and, for a signal, the rules it breaks
    signal: str  # "" | "up" | "down"
    why: str
    in_do: bool = False


@dataclass(frozen=True)
class Band:
    """One segment's limits as horizontal lines from x1 to x2 (mean None: too few points)."""

    x1: float
    x2: float
    mean: float | None = None
    upper: float | None = None
    lower: float | None = None  # None: at or below the chart's floor
    bottom: float | None = None  # where the shaded band between the limits ends
    mean_label: str = ""
    upper_label: str = ""
    lower_label: str = ""

    @property
    def width(self) -> float:
        return round(self.x2 - self.x1, 1)

    @property
    def height(self) -> float:
        return round(self.bottom - self.upper, 1) if self.mean is not None else 0.0


@dataclass(frozen=True)
class DoWindow:
    x: float
    width: float
    mean_y: float | None
    mean: str

    @property
    def x2(self) -> float:
        return round(self.x + self.width, 1)


@dataclass(frozen=True)
class XmrSvg:
    key: str
    title: str
    unit: str
    y_label: str
    x_label: str
    desc: str
    frame: str = WIDE.name
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = WIDE.left
    plot_right: int = WIDTH - WIDE.right
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - WIDE.bottom
    path: str = ""
    radius: float = 3.0
    points: tuple[Point, ...] = ()
    bands: tuple[Band, ...] = ()
    margin_labels: tuple[MarginLabel, ...] = ()
    dividers: tuple[Divider, ...] = ()
    do: DoWindow | None = None
    y_ticks: tuple[Tick, ...] = ()
    x_ticks: tuple[Tick, ...] = ()
    signals: int = 0
    signal_kinds: tuple[str, ...] = ()  # "up", "down": the kinds of signal mark drawn
    do_points: bool = False  # marks of Do-window weeks are drawn
    frozen: bool = False  # the limits are a cycle's baseline, not computed per segment
    latest: str = "—"
    empty: bool = False
    notes: tuple[str, ...] = ()  # under the chart: what a point is, what the centre line is
    layouts: tuple[XmrSvg, ...] = ()  # the same chart in every frame, widest first

    @property
    def plot_height(self) -> int:
        return self.plot_bottom - self.plot_top

    @property
    def divider_kinds(self) -> set[str]:
        return {d.kind for d in self.dividers}
