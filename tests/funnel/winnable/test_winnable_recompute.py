"""The aggregates against a straightforward count done here, deal by deal."""

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from funnel.models import (
    Characteristic,
    Deal,
    DealStatus,
    Observation,
    WinnableCount,
    WinnableDimension,
)
from funnel.pipeline.run import team_recompute
from funnel.winnable.services import number_bin_label, number_bins, team_winnable_recompute
from tests.funnel.winnable.conftest import UTC, deal_closed

SLUGS = ("decision-maker-reached", "competitor-present", "prospect-department")


def _random_team_history(team, seed=7, deals=160):
    rng = random.Random(seed)
    chars = [Characteristic.objects.get(team=team, slug=s) for s in SLUGS]
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(deals):
        closed_at = start + dt.timedelta(days=rng.randrange(0, 200), hours=rng.randrange(24))
        observations = []
        for c in chars:
            values = c.choices if c.kind == "choice" else ["yes", "no"]
            for _ in range(rng.randrange(0, 4)):
                # Some before the close, some exactly at it, some after it (must be ignored),
                # and some at the same instant as another (the later id wins).
                offset = rng.choice([-10, -3, -1, 0, 0, 2])
                at = closed_at + dt.timedelta(days=offset)
                observations.append((c, rng.choice(values), at))
        rng.shuffle(observations)  # arrival order differs from observed order
        deal_closed(
            team,
            f"R-{i}",
            won=rng.random() < 0.4,
            closed_at=closed_at,
            amount=rng.choice([None, "1000", "2500.50"]),
            department=rng.choice(["", "Finance", "IT"]),
            observations=observations,
        )
    # Open deals never count, whatever was observed on them.
    open_deal = Deal.objects.create(team=team, external_id="OPEN", status=DealStatus.OPEN)
    Observation.objects.create(
        deal=open_deal, characteristic=chars[0], value="yes", observed_at=start
    )


def _expected(team):
    """Latest value at or before the close per deal and characteristic, by close month."""
    expected = defaultdict(lambda: [0, 0, Decimal(0)])
    totals = defaultdict(lambda: [0, 0, Decimal(0)])
    departments = defaultdict(lambda: [0, 0, Decimal(0)])
    for deal in Deal.objects.filter(team=team).exclude(status=DealStatus.OPEN):
        won = deal.status == DealStatus.WON
        amount = (deal.amount or Decimal(0)) if won else Decimal(0)
        month = deal.closed_at.date().replace(day=1)
        for cell in (totals[month], departments[deal.department, month]):
            cell[0] += 1
            cell[1] += won
            cell[2] += amount
        latest = {}
        for o in Observation.objects.filter(deal=deal).order_by("id"):
            if o.observed_at > deal.closed_at:
                continue
            best = latest.get(o.characteristic_id)
            if best is None or (o.observed_at, o.id) > (best.observed_at, best.id):
                latest[o.characteristic_id] = o
        for o in latest.values():
            cell = expected[o.characteristic_id, o.value, month]
            cell[0] += 1
            cell[1] += won
            cell[2] += amount
    return expected, totals, departments


def _stored(team, dimension):
    return {
        (
            (r.characteristic_id, r.value, r.month)
            if dimension == WinnableDimension.CHARACTERISTIC
            else (r.value, r.month)
            if dimension == WinnableDimension.DEPARTMENT
            else r.month
        ): [r.closed, r.won, r.won_amount]
        for r in WinnableCount.objects.filter(team=team, dimension=dimension)
    }


def test_aggregates_equal_an_independent_count(team):
    _random_team_history(team)
    team_winnable_recompute(team=team)
    expected, totals, departments = _expected(team)
    assert _stored(team, WinnableDimension.CHARACTERISTIC) == dict(expected)
    assert _stored(team, WinnableDimension.ALL) == dict(totals)
    assert _stored(team, WinnableDimension.DEPARTMENT) == dict(departments)
    assert sum(c[0] for c in totals.values()) == 160


def test_recompute_is_idempotent_and_scoped_to_the_team(team, other_team):
    _random_team_history(team, deals=40)
    _random_team_history(other_team, seed=8, deals=30)
    first = team_winnable_recompute(team=team)
    rows = sorted(WinnableCount.objects.filter(team=team).values_list("value", "month", "closed"))
    assert team_winnable_recompute(team=team) == first
    assert (
        sorted(WinnableCount.objects.filter(team=team).values_list("value", "month", "closed"))
        == rows
    )
    assert not WinnableCount.objects.filter(team=other_team).exists()


def test_latest_value_before_close_wins_and_ties_go_to_the_later_arrival(team, characteristic):
    dm = characteristic("decision-maker-reached")
    closed = dt.datetime(2026, 3, 15, 12, tzinfo=UTC)
    same = closed - dt.timedelta(days=2)
    deal_closed(
        team,
        "A",
        won=True,
        closed_at=closed,
        observations=[(dm, "no", same), (dm, "yes", same), (dm, "no", closed + dt.timedelta(1))],
    )
    deal_closed(team, "B", won=False, closed_at=closed, observations=[(dm, "no", closed)])
    team_winnable_recompute(team=team)
    stored = _stored(team, WinnableDimension.CHARACTERISTIC)
    assert stored == {
        (dm.id, "yes", dt.date(2026, 3, 1)): [1, 1, Decimal(0)],
        (dm.id, "no", dt.date(2026, 3, 1)): [1, 0, Decimal(0)],
    }


def test_team_recompute_keeps_the_aggregates(team, characteristic):
    dm = characteristic("decision-maker-reached")
    closed = dt.datetime(2026, 3, 15, tzinfo=UTC)
    deal_closed(team, "A", won=True, closed_at=closed, observations=[(dm, "yes", closed)])
    team_recompute(team=team)
    assert WinnableCount.objects.filter(team=team, characteristic=dm, value="yes").exists()


def test_numbers_are_grouped_into_quartile_bins(team):
    seats = Characteristic.objects.create(team=team, slug="seats", name="Seats", kind="number")
    closed = dt.datetime(2026, 3, 15, tzinfo=UTC)
    for i in range(1, 101):
        deal_closed(
            team,
            f"S-{i}",
            won=i > 50,
            closed_at=closed,
            observations=[(seats, str(i), closed - dt.timedelta(days=1))],
        )
    team_winnable_recompute(team=team)
    stored = {
        r.value: (r.closed, r.won)
        for r in WinnableCount.objects.filter(team=team, characteristic=seats)
    }
    assert stored == {"≤ 25": (25, 0), "25 – 50": (25, 0), "50 – 75": (25, 25), "> 75": (25, 25)}


def test_number_bins_by_hand():
    assert number_bins({1.0: 10, 2.0: 10, 3.0: 10, 4.0: 10}) == [1.0, 2.0, 3.0]
    # One value holding most deals: fewer bins, never an empty one.
    assert number_bins({0.0: 90, 5.0: 10}) == [0.0]
    assert number_bins({7.0: 3}) == []
    assert number_bin_label(0.0, [0.0]) == "≤ 0" and number_bin_label(5.0, [0.0]) == "> 0"
    assert number_bin_label(7.0, []) == "all"
