"""Closed deals with observations, written straight to the tables the recompute reads."""

import datetime as dt
from decimal import Decimal

import pytest

from funnel.models import Characteristic, Deal, DealStatus, Observation, Origin
from funnel.winnable.services import team_winnable_recompute

UTC = dt.UTC


def deal_closed(team, external_id, *, won, closed_at, amount=None, department="", observations=()):
    """A closed deal and its observations [(characteristic, value, observed_at), ...], written
    in the given order (ids follow it, which is what breaks ties)."""
    deal = Deal.objects.create(
        team=team,
        external_id=external_id,
        status=DealStatus.WON if won else DealStatus.LOST,
        closed_at=closed_at,
        opened_at=closed_at - dt.timedelta(days=30),
        amount=None if amount is None else Decimal(amount),
        department=department,
    )
    for characteristic, value, observed_at in observations:
        number = float(value) if characteristic.kind == "number" else None
        Observation.objects.create(
            deal=deal,
            characteristic=characteristic,
            value=value,
            value_number=number,
            observed_at=observed_at,
            origin=Origin.SEED,
        )
    return deal


@pytest.fixture
def characteristic(team):
    def get(slug):
        return Characteristic.objects.get(team=team, slug=slug)

    return get


def counts_build(team, rows):
    """rows: [(slug, value, won, lost)], one deal per observation, all closed three days ago;
    then the recompute. Bulk writes: these tests need hundreds of deals."""
    closed_at = dt.datetime.now(UTC) - dt.timedelta(days=3)
    chars = {c.slug: c for c in Characteristic.objects.filter(team=team)}
    start = Deal.objects.filter(team=team).count()
    deals, values = [], []
    for slug, value, won, lost in rows:
        for outcome in [True] * won + [False] * lost:
            deals.append(
                Deal(
                    team=team,
                    external_id=f"T-{start + len(deals)}",
                    status=DealStatus.WON if outcome else DealStatus.LOST,
                    closed_at=closed_at,
                )
            )
            values.append((chars[slug], value))
    Deal.objects.bulk_create(deals)
    Observation.objects.bulk_create(
        Observation(
            deal=deal,
            characteristic=characteristic,
            value=value,
            observed_at=closed_at - dt.timedelta(days=1),
            origin=Origin.SEED,
        )
        for deal, (characteristic, value) in zip(deals, values, strict=True)
    )
    team_winnable_recompute(team=team)
