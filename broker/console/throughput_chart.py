"""The overview's throughput chart: messages accepted per five minutes over the last hour, as bar geometry.

Drawn by the overview template as inline SVG; the same numbers are also given as text, so the chart
adds to the page for those who see it and hides nothing from those who do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

BUCKETS = 12
BUCKET_WIDTH = timedelta(minutes=5)
CHART_WIDTH = 480
CHART_HEIGHT = 120
AXIS = 20
BAR_GAP = 4


@dataclass(frozen=True, slots=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    count: int
    start: datetime


@dataclass(frozen=True, slots=True)
class ThroughputChart:
    bars: tuple[Bar, ...]
    total: int
    peak: int
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    baseline: int = CHART_HEIGHT - AXIS


def bucket_starts(now: datetime) -> list[datetime]:
    return [now - BUCKET_WIDTH * (BUCKETS - i) for i in range(BUCKETS)]


def chart(counts: Sequence[int], now: datetime) -> ThroughputChart:
    peak = max(counts, default=0)
    slot = CHART_WIDTH // max(len(counts), 1)
    usable = CHART_HEIGHT - AXIS - 4
    bars = []
    for i, (count, start) in enumerate(zip(counts, bucket_starts(now), strict=True)):
        height = round(usable * count / peak) if peak else 0
        bars.append(Bar(i * slot + BAR_GAP // 2, CHART_HEIGHT - AXIS - height, slot - BAR_GAP, height, count, start))
    return ThroughputChart(tuple(bars), sum(counts), peak)
