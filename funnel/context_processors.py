"""What every page may say about the figures: the one confidence level of every interval."""

from django.http import HttpRequest

from funnel.metrics.intervals import CONFIDENCE


def confidence(request: HttpRequest) -> dict:
    """``confidence_pct``: 95 for intervals at 95 %, for the words around every interval."""
    return {"confidence_pct": f"{CONFIDENCE * 100:g}"}
