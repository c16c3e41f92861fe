"""The tactics page's kept counts equal a count of the raw touches, for every period and station.

The oracle below is written apart from the SQL, in plain Python over the rows: each touch is
judged by the rules the page states (answered: recorded, or the deal moved on within the
tactic's latest window; station: that of the deal's stage at the touch, a merged stage counting
as the one it was merged into; advanced: a later stage or a win after it), then counted per
tactic and per prospect over the touches in the weeks (from Monday, in the app's time zone)
from `since` on.
"""

import datetime as dt
import random
import zoneinfo
from collections import defaultdict

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from funnel.models import (
    Deal,
    Origin,
    Outcome,
    RecomputeState,
    ResponseRule,
    Stage,
    StageEvent,
    Tactic,
    Touch,
    TouchWeekCount,
)
from funnel.pipeline.tactics import team_tactics_rebuild
from funnel.positions import deal_refresh_position
from funnel.touches.selectors import tactic_counts_for_team
from funnel.touches.services import response_rule_set, tactic_create

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 3, 3, 8, 30, tzinfo=dt.UTC)


def _judged(team) -> list[tuple]:
    """Every touch of the team as (tactic, deal, prospect, week, station, answered, advanced,
    deal won)."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    stages = {s.id: s for s in Stage.objects.filter(team=team)}

    def place(stage_id):  # (position, station), through a merge
        s = stages[stage_id]
        s = stages[s.merged_into_id] if s.merged_into_id else s
        return s.position, s.station

    events = defaultdict(list)
    for e in StageEvent.objects.filter(team=team):
        events[e.deal_id].append(e)
    window = {}
    for rule in ResponseRule.objects.filter(tactic__team=team).order_by("number"):
        window[rule.tactic_id] = rule.window_days
    status = dict(Deal.objects.filter(team=team).values_list("id", "status"))
    out = []
    for t in Touch.objects.filter(team=team):
        log = events.get(t.deal_id, [])
        before = [e for e in log if e.stage_id and e.occurred_at <= t.occurred_at]
        at = max(before, key=lambda e: (e.occurred_at, place(e.stage_id)[0]), default=None)
        position, where = place(at.stage_id) if at else (0, "")
        days = window.get(t.tactic_id)
        answered = t.responded is True or (
            t.responded is None
            and days is not None
            and any(
                t.occurred_at < e.occurred_at <= t.occurred_at + dt.timedelta(days=days)
                and (e.stage_id or e.outcome == Outcome.WON)
                for e in log
            )
        )
        advanced = any(
            e.occurred_at > t.occurred_at
            and (e.outcome == Outcome.WON or (e.stage_id and place(e.stage_id)[0] > position))
            for e in log
        )
        day = t.occurred_at.astimezone(zone).date()
        week = day - dt.timedelta(days=day.weekday())
        won = status.get(t.deal_id) == "won"
        out.append((t.tactic_id, t.deal_id, t.prospect, week, where, answered, advanced, won))
    return out


def _oracle(judged, since: dt.date | None, station: str | None):
    per_tactic = defaultdict(lambda: {"n": 0, "k": 0, "on_deals": 0, "adv": 0})
    deals, won_deals = defaultdict(set), defaultdict(set)
    prospects = defaultdict(lambda: [0, False])
    for tactic, deal, prospect, week, where, answered, advanced, won in judged:
        if (since is not None and week < since) or (station is not None and where != station):
            continue
        cell = per_tactic[tactic]
        cell["n"] += 1
        cell["k"] += answered
        if answered and deal:
            cell["on_deals"] += 1
            cell["adv"] += advanced
            deals[tactic].add(deal)
            if won:
                won_deals[tactic].add(deal)
        p = prospects[deal, prospect]
        p[0] += 1
        p[1] = p[1] or answered
    tactics = {
        tid: (c["n"], c["k"], c["on_deals"], c["adv"], len(deals[tid]), len(won_deals[tid]))
        for tid, c in per_tactic.items()
    }
    at_least = {}
    for k in range(1, 6):
        having = [answered for n, answered in prospects.values() if n >= k]
        if having:
            at_least[k] = (len(having), sum(having))
    return tactics, at_least


def _check_every_period_and_station(team):
    judged = _judged(team)
    weeks = sorted({row[3] for row in judged})
    periods = [None, weeks[0], weeks[len(weeks) // 3], weeks[len(weeks) // 2], weeks[-1]]
    for since in [*periods, weeks[-1] + dt.timedelta(weeks=1)]:
        for station in STATIONS:
            assert _kept(team, since, station) == _oracle(judged, since, station), (since, station)


def _kept(team, since, station):
    counts = tactic_counts_for_team(team=team, since=since, station=station)
    tactics = {
        c.tactic.id: (
            c.touches,
            c.responses,
            c.deal_answers,
            c.answers_advanced,
            c.answered_deals,
            c.answered_deals_won,
        )
        for c in counts.tactics
    }
    return tactics, {k: v for k, v in counts.at_least.items() if v[0]}


def _history(team, rng: random.Random, *, deals: int, touches: int, start: int = 0):
    """Deals moving through the funnel (some won, some lost, some merged-stage events, some
    events at the same moment), and touches on them and on prospects without a deal."""
    stages = list(Stage.objects.filter(team=team).order_by("position"))
    tactics = list(Tactic.objects.filter(team=team))
    made = []
    for d in range(start, start + deals):
        deal = Deal.objects.create(team=team, external_id=f"D-{d}")
        at = T0 + dt.timedelta(days=rng.randint(0, 200), hours=rng.randint(0, 23))
        for i, stage in enumerate(stages[: rng.randint(1, len(stages))]):
            at += dt.timedelta(days=rng.choice([0, 0, 2, 5, 9, 20]))
            StageEvent.objects.create(
                team=team,
                deal=deal,
                stage=stage,
                occurred_at=at,
                event_id=f"D-{d}-{i}",
                origin=Origin.API,
            )
        if rng.random() < 0.6:
            StageEvent.objects.create(
                team=team,
                deal=deal,
                outcome=rng.choice([Outcome.WON, Outcome.LOST]),
                lost_reason="",
                occurred_at=at + dt.timedelta(days=rng.randint(1, 30)),
                event_id=f"D-{d}-end",
                origin=Origin.API,
            )
        made.append(deal_refresh_position(deal=deal))
    rows = []
    for i in range(start, start + touches):
        on_deal = rng.random() < 0.7
        rows.append(
            Touch(
                team=team,
                touch_id=f"t-{i}",
                tactic=rng.choice(tactics),
                channel="phone",
                deal=rng.choice(made) if on_deal else None,
                prospect="" if on_deal else f"P-{rng.randint(0, 30)}",
                occurred_at=T0
                + dt.timedelta(days=rng.randint(0, 260), minutes=rng.randint(0, 1439)),
                responded=rng.choice([None, None, None, True, False]),
                origin=Origin.API,
            )
        )
    Touch.objects.bulk_create(rows)


STATIONS = [None, "", "market", "marketing", "qualifying", "selling", "servicing"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_counts_equal_the_raw_touches_for_every_period_and_station(team, manager, seed):
    rng = random.Random(seed)
    tactic_create(team=team, slug="webinar", name="Webinar", channel="event")  # no window
    response_rule_set(tactic=Tactic.objects.get(team=team, slug="email"), window_days=3, by=manager)
    Stage.objects.filter(team=team, slug="negotiation").update(
        merged_into=Stage.objects.get(team=team, slug="proposal")
    )
    _history(team, rng, deals=25, touches=400)
    team_tactics_rebuild(team=team)
    _check_every_period_and_station(team)

    # More touches and events arrive; the rebuild takes them in.
    _history(team, rng, deals=10, touches=200, start=1000)
    assert _kept(team, None, None) != _oracle(_judged(team), None, None)
    team_tactics_rebuild(team=team)
    _check_every_period_and_station(team)


def test_events_at_the_very_instant_of_a_touch(team, manager):
    """Three deals touched at T0, each in inquiry the day before and entering engaged and
    qualified at T0 itself. The first also enters proposal and is won at T0; the second does
    both an hour later; the third is the first again, its touch recorded as answered. Events
    at the touch's instant place it (ties by the funnel's order) but neither answer it nor
    count as its deal advancing: only events strictly after do."""
    response_rule_set(tactic=Tactic.objects.get(team=team, slug="call"), window_days=1, by=manager)
    stages = {s.slug: s for s in Stage.objects.filter(team=team)}
    call = Tactic.objects.get(team=team, slug="call")
    same, hour = dt.timedelta(0), dt.timedelta(hours=1)
    for d, (later, responded) in enumerate([(same, None), (hour, None), (same, True)]):
        deal = Deal.objects.create(team=team, external_id=f"D-{d}")
        moments = [
            (stages["inquiry"], "", T0 - dt.timedelta(days=1)),
            (stages["qualified"], "", T0),
            (stages["engaged"], "", T0),
            (stages["proposal"], "", T0 + later),
            (None, Outcome.WON, T0 + later),
        ]
        for i, (stage, outcome, at) in enumerate(moments):
            StageEvent.objects.create(
                team=team,
                deal=deal,
                stage=stage,
                outcome=outcome,
                occurred_at=at,
                event_id=f"D-{d}-{i}",
                origin=Origin.API,
            )
        deal_refresh_position(deal=deal)
        Touch.objects.create(
            team=team,
            touch_id=f"t-{d}",
            tactic=call,
            channel="phone",
            deal=deal,
            occurred_at=T0,
            responded=responded,
            origin=Origin.API,
        )
    team_tactics_rebuild(team=team)
    judged = _judged(team)
    # The oracle's reading, worked by hand: the first touch stands in proposal (selling), the
    # furthest of its four stages at T0, with nothing after it; the second in qualified
    # (qualifying, further than engaged), answered and advanced by the moves an hour later;
    # the third answered, in selling, and not advanced by the win at its own instant.
    assert sorted((row[4], row[5], row[6]) for row in judged) == [
        ("qualifying", True, True),
        ("selling", False, False),
        ("selling", True, False),
    ]
    _check_every_period_and_station(team)


def test_a_deal_answered_on_several_days_counts_once_and_prospects_by_hand(team):
    """One deal answered a call on day 0 and day 10 (once in market, then in qualifying), a
    prospect without a deal was called three times and answered the first. Day 0 is a Monday:
    days 0 and 1 fall in the first week, days 8 to 10 in the second. Worked by hand."""
    deal = Deal.objects.create(team=team, external_id="D-1")
    for i, (slug, day) in enumerate([("inquiry", -1), ("qualified", 5)]):
        StageEvent.objects.create(
            team=team,
            deal=deal,
            stage=Stage.objects.get(team=team, slug=slug),
            occurred_at=T0 + dt.timedelta(days=day),
            event_id=f"e{i}",
            origin=Origin.API,
        )
    deal_refresh_position(deal=deal)
    call = Tactic.objects.get(team=team, slug="call")
    for i, (day, kw) in enumerate(
        [
            (0, {"deal": deal, "responded": True}),
            (10, {"deal": deal, "responded": True}),
            (1, {"prospect": "P", "responded": True}),
            (8, {"prospect": "P", "responded": False}),
            (9, {"prospect": "P", "responded": False}),
        ]
    ):
        Touch.objects.create(
            team=team,
            touch_id=f"t{i}",
            tactic=call,
            channel="phone",
            occurred_at=T0 + dt.timedelta(days=day),
            origin=Origin.API,
            **kw,
        )
    team_tactics_rebuild(team=team)
    everything = tactic_counts_for_team(team=team)
    (row,) = everything.tactics
    # 5 touches, 3 answered, 2 of them on the deal; the first led to qualified, the second not.
    assert (row.touches, row.responses, row.deal_answers, row.answers_advanced) == (5, 3, 2, 1)
    assert row.answered_deals == 1
    # Deal: 2 touches, answered; P: 3 touches, answered.
    assert everything.at_least == {1: (2, 2), 2: (2, 2), 3: (1, 1)}
    # From the second week: the deal's day-10 answer, and P's two unanswered calls.
    later = tactic_counts_for_team(team=team, since=(T0 + dt.timedelta(days=7)).date())
    assert (later.tactics[0].touches, later.tactics[0].answered_deals) == (3, 1)
    assert later.at_least == {1: (2, 1), 2: (1, 0)}
    # In market only the day-0 call; qualifying only the day-10 one; P has no stage.
    assert tactic_counts_for_team(team=team, station="market").tactics[0].answered_deals == 1
    assert tactic_counts_for_team(team=team, station="qualifying").at_least == {1: (1, 1)}
    assert tactic_counts_for_team(team=team, station="").at_least == {
        1: (1, 1),
        2: (1, 1),
        3: (1, 1),
    }


def test_the_rebuild_groups_each_table_in_one_statement_and_marks_the_team_fresh(team):
    Touch.objects.create(
        team=team,
        touch_id="a",
        tactic=Tactic.objects.get(team=team, slug="call"),
        channel="phone",
        prospect="P",
        occurred_at=T0,
        origin=Origin.API,
    )
    RecomputeState.objects.create(team=team, tactics_stale=True)
    with CaptureQueriesContext(connection) as queries:
        team_tactics_rebuild(team=team)
    inserts = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("WITH")]
    assert len(inserts) == 2
    assert TouchWeekCount.objects.filter(team=team).count() == 1
    state = RecomputeState.objects.get(team=team)
    assert state.tactics_at is not None and not state.tactics_stale
