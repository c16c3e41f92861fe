"""When the tactics counts are rebuilt: by the recompute after touches or events change, at most
every TACTICS_REFRESH_SECONDS (the sweep catches up on what a throttled run left stale); touch
writes and response-rule changes mark them stale and ask for the run; the page builds them on
its first read."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import Origin, RecomputeState, Tactic, Touch, TouchWeekCount
from funnel.pipeline.request import teams_sweep
from funnel.pipeline.run import team_recompute
from funnel.touches.ingest import TouchIn, touches_ingest
from funnel.touches.selectors import tactic_counts_for_team
from funnel.touches.services import response_rule_set, touch_record
from tests.deal_history import deal_with_history

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(minute=0, second=0, microsecond=0)


def _calls(team) -> tuple[int, int]:
    counts = {c.tactic.slug: c for c in tactic_counts_for_team(team=team).tactics}
    call = counts.get("call")
    return (call.touches, call.responses) if call else (0, 0)


def _touch(team, touch_id, days_ago=1, **kw):
    Touch.objects.create(
        team=team,
        touch_id=touch_id,
        tactic=Tactic.objects.get(team=team, slug="call"),
        channel="phone",
        prospect=kw.pop("prospect", "P-1"),
        occurred_at=NOW - dt.timedelta(days=days_ago),
        origin=Origin.API,
        **kw,
    )


def test_the_recompute_rebuilds_them_at_most_every_interval(team, settings, monkeypatch):
    settings.TACTICS_REFRESH_SECONDS = 300
    monkeypatch.setattr("funnel.pipeline.request.task_enqueue", lambda *a, **k: None)
    _touch(team, "a")
    team_recompute(team=team, now=NOW)  # never built: built now
    assert _calls(team) == (1, 0)
    _touch(team, "b", responded=True)
    team_recompute(team=team, now=NOW + dt.timedelta(seconds=60))  # throttled
    assert _calls(team) == (1, 0)
    assert RecomputeState.objects.get(team=team).tactics_stale is True
    assert teams_sweep(now=NOW + dt.timedelta(seconds=120)) == []
    assert teams_sweep(now=NOW + dt.timedelta(seconds=301)) == [team.id]
    team_recompute(team=team, now=NOW + dt.timedelta(seconds=301))
    assert _calls(team) == (2, 1)
    state = RecomputeState.objects.get(team=team)
    assert (state.tactics_stale, state.tactics_at) == (False, NOW + dt.timedelta(seconds=301))
    assert state.tactics_horizon == NOW - dt.timedelta(days=1)


def test_an_event_that_makes_a_touch_answered_reaches_the_counts(team, rep):
    """The rule derives the answer from the deal moving on: the run after the event rebuilds."""
    deal = deal_with_history(team=team, external_id="D-1", stages=["inquiry"], owner=rep)
    Touch.objects.create(
        team=team,
        touch_id="a",
        tactic=Tactic.objects.get(team=team, slug="call"),
        channel="phone",
        deal=deal,
        occurred_at=timezone.now() - dt.timedelta(days=2),
        origin=Origin.API,
    )
    team_recompute(team=team)
    assert _calls(team) == (1, 0)
    stage_events_ingest(
        team=team,
        origin="api",
        events=[
            EventIn(
                event_id="D-1-q",
                deal_external_id="D-1",
                occurred_at=timezone.now() - dt.timedelta(days=1),
                stage="qualified",
            )
        ],
        schedule_recompute=False,
    )
    team_recompute(team=team)
    assert _calls(team) == (1, 1)


def test_a_one_tap_touch_reaches_the_counts_after_commit(
    team, rep, django_capture_on_commit_callbacks
):
    """Eager mode (the embedded default): the write's on-commit run rebuilds them."""
    deal = deal_with_history(team=team, external_id="D-1", stages=["inquiry"], owner=rep)
    team_recompute(team=team)
    assert _calls(team) == (0, 0)
    with django_capture_on_commit_callbacks(execute=True):
        touch_record(deal=deal, tactic=Tactic.objects.get(team=team, slug="call"), by=rep)
    assert _calls(team) == (1, 0)


@pytest.mark.parametrize("write", ["api", "rule"])
def test_touch_batches_and_rule_changes_mark_them_stale(
    team, manager, settings, monkeypatch, django_capture_on_commit_callbacks, write
):
    settings.TACTICS_REFRESH_SECONDS = 300
    sent = []
    monkeypatch.setattr(
        "funnel.pipeline.request.task_enqueue", lambda name, *a, **k: sent.append(name)
    )
    team_recompute(team=team, now=timezone.now())
    assert RecomputeState.objects.get(team=team).tactics_stale is False
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        if write == "api":
            touches_ingest(
                team=team,
                origin=Origin.API,
                touches=[
                    TouchIn(
                        touch_id="x",
                        tactic="call",
                        prospect="P-9",
                        occurred_at=timezone.now() - dt.timedelta(hours=1),
                    )
                ],
            )
        else:
            call = Tactic.objects.get(team=team, slug="call")
            response_rule_set(tactic=call, window_days=3, by=manager)
    assert RecomputeState.objects.get(team=team).tactics_stale is True
    assert sent == ["funnel.pipeline.team_recompute"]


def test_the_page_builds_them_on_its_first_read(login, manager, team):
    _touch(team, "a", responded=True)
    assert not TouchWeekCount.objects.filter(team=team).exists()
    body = login(manager).get(reverse("tactics_team", args=[team.slug])).content.decode()
    assert "1 of 1 touches answered" in body
    assert RecomputeState.objects.get(team=team).tactics_at is not None
