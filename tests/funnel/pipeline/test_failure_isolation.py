"""A team whose data the app cannot read stops only itself (issue 17, item 1): its recompute
and rebuild fail, are logged and marked on the team, and the nightly rebuild goes on with the
other teams. The bad row is planted directly in the database, as no boundary lets it in."""

import datetime as dt

import pgtrigger
from django.db import connection

from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import BottleneckStatus, Origin, RecomputeState, StageEvent
from funnel.pipeline.run import team_recompute_queued, teams_rebuild_enqueue

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _events(team, prefix):
    stage_events_ingest(
        team=team,
        origin=Origin.API,
        events=[
            EventIn(
                event_id=f"{prefix}-{i}",
                deal_external_id=f"{prefix}-D{i}",
                occurred_at=T0 + dt.timedelta(days=i),
                stage="inquiry",
            )
            for i in range(3)
        ],
    )


def _plant_year_zero(team):
    """What an unchecked +14:00 offset on 1 Jan 0001 stored: a time in year 0, UTC."""
    event = StageEvent.objects.filter(team=team).order_by("id").first()
    bad = "0001-01-01 00:00:00+14" if connection.vendor == "postgresql" else "0000-12-31 10:00:00"
    # Around the log's append-only guard, as a restore gone wrong would be.
    with pgtrigger.ignore("funnel.StageEvent:stage_event_no_update"), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE funnel_stageevent SET occurred_at = %s WHERE id = %s", [bad, event.id]
        )


def test_the_nightly_rebuild_carries_on_past_a_broken_team(team, other_team):
    _events(team, "N")
    _events(other_team, "S")
    _plant_year_zero(team)
    BottleneckStatus.objects.all().delete()

    assert teams_rebuild_enqueue() == sorted([team.id, other_team.id])

    broken = RecomputeState.objects.get(team=team)
    assert broken.failed_at is not None
    assert broken.failure.startswith("rebuild: ")
    # The other team was rebuilt, after the broken one (ids in order).
    assert BottleneckStatus.objects.filter(team=other_team).exists()
    assert RecomputeState.objects.get(team=other_team).failed_at is None


def test_a_good_run_clears_the_mark(team):
    _events(team, "N")
    RecomputeState.objects.update_or_create(
        team=team, defaults={"failed_at": T0, "failure": "recompute: ValueError: year 0"}
    )
    assert team_recompute_queued(team_id=team.id) is not None
    state = RecomputeState.objects.get(team=team)
    assert (state.failed_at, state.failure) == (None, "")


def test_the_dashboard_says_the_figures_are_frozen(client, manager, team):
    _events(team, "N")
    team_recompute_queued(team_id=team.id)
    RecomputeState.objects.filter(team=team).update(
        failed_at=T0, failure="rebuild: ValueError: year 0 is out of range"
    )
    client.force_login(manager)
    page = client.get(f"/teams/{team.slug}/dashboard/").content.decode()
    assert "Figures frozen: the update at" in page
    assert ">2 Mar, 09:00</time> failed on data the app cannot read" in page
    assert "Figures are current" not in page


def test_the_admin_lists_the_failure(admin_client, team):
    RecomputeState.objects.update_or_create(
        team=team, defaults={"failed_at": T0, "failure": "recompute: ValueError: year 0"}
    )
    page = admin_client.get("/admin/funnel/recomputestate/").content.decode()
    assert "recompute: ValueError: year 0" in page
