"""The verdict's settings and its arithmetic as stored JSON, shared by team and company runs."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

import numpy as np

from funnel.metrics.verdict import BottleneckVerdict, VerdictSettings
from funnel.models import Stage

SETTINGS = VerdictSettings()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else "inf"
    return value


def verdict_figures(verdict: BottleneckVerdict, stages: list[Stage]) -> dict:
    """The verdict's arithmetic as JSON, with stage names for people to read."""
    figures = _jsonable(asdict(verdict)) | {
        "confidence": SETTINGS.confidence,
        "recent_weeks": (verdict.recent_to - verdict.recent_from).days // 7,
    }
    names = {s.position: {"slug": s.slug, "name": s.name} for s in stages}
    for item in [*figures["contenders"], *figures["flow"]]:
        item.update(names.get(item.get("stage_position"), {"slug": None, "name": "Arrivals"}))
    return figures
