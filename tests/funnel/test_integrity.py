"""The integrity check reports what the dropped foreign keys allow, exactly; the recompute
survives it.

Each broken row is made by going around the services (an update of a reference, a raw DELETE),
the way a bad migration, a manual fix or a restore gone wrong would leave it.
"""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from funnel.deals.services import observation_record
from funnel.ingest import EventIn, stage_events_ingest
from funnel.integrity import integrity_check
from funnel.management.commands.integrity_check import Command
from funnel.models import (
    BottleneckStatus,
    Deal,
    DealPassage,
    Observation,
    PendingDeal,
    StageEvent,
    StageFlow,
    WinnableCount,
)
from funnel.pipeline.passages import team_pending_drain
from funnel.pipeline.run import team_rebuild, team_recompute
from funnel.pipeline.tasks import integrity_check_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def log_guard_lifted(db):
    """The rows are broken around the event log's append-only guard (PostgreSQL triggers), as
    a bad migration or a restore gone wrong would do it; the test's rollback restores it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE funnel_stageevent DISABLE TRIGGER USER")


MISSING = 987_654_321  # an id no row has
START = timezone.now() - dt.timedelta(days=30)


def ev(event_id, deal, days, stage=None, outcome=None, owner=None):
    return EventIn(
        event_id=event_id,
        deal_external_id=deal,
        occurred_at=START + dt.timedelta(days=days),
        stage=stage,
        outcome=outcome,
        owner_email=owner,
    )


@pytest.fixture
def world(team, other_team, rep, outsider):
    """North: deal A (inquiry, engaged; owned by the rep; one observation) and deal B (inquiry,
    lost). South: deal S (inquiry). All written through the services, not yet drained."""
    stage_events_ingest(
        team=team,
        origin="api",
        events=[
            ev("a1", "A", 0, stage="inquiry", owner=rep.email),
            ev("a2", "A", 2, stage="engaged"),
            ev("b1", "B", 0, stage="inquiry"),
            ev("b2", "B", 3, outcome="lost"),
        ],
    )
    stage_events_ingest(team=other_team, origin="api", events=[ev("s1", "S", 0, stage="inquiry")])
    deal_a = Deal.objects.get(team=team, external_id="A")
    observation = observation_record(
        deal=deal_a,
        characteristic=team.characteristics.get(slug="budget-confirmed"),
        value="yes",
        by=rep,
        observed_at=START + dt.timedelta(days=1),
    )
    return {
        "A": deal_a,
        "B": Deal.objects.get(team=team, external_id="B"),
        "observation": observation,
        "event": {e.event_id: e for e in StageEvent.objects.all()},
        "south_stage": other_team.stages.get(slug="engaged"),
        "south_characteristic": other_team.characteristics.get(slug="budget-confirmed"),
    }


def problems() -> dict[str, int]:
    return {key: count for key, count in integrity_check().counts().items() if count}


def raw_delete_deal(deal: Deal) -> None:
    """The deal row goes; nothing cascades (no database foreign keys on its log)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Deal._meta.db_table} WHERE id = %s", [deal.id])


def test_a_clean_database_reports_ok(world):
    report = integrity_check()
    assert report.ok
    assert report.lines() == []
    assert set(report.counts()) == {
        "deal_team",
        "deal_owner",
        "deal_stage_team",
        "event_deal",
        "event_team",
        "event_deal_team",
        "event_stage",
        "event_stage_team",
        "event_recorded_by",
        "observation_deal",
        "observation_characteristic",
        "observation_team",
        "passage_deal",
        "pending_deal",
    }
    assert not any(report.counts().values())


def test_deal_of_a_missing_team(world):
    Deal.objects.filter(id=world["B"].id).update(team_id=MISSING)
    # Its events and its current stage are north's: they no longer match the deal's team.
    assert problems() == {"deal_team": 1, "deal_stage_team": 1, "event_deal_team": 2}


def test_deal_owned_by_a_missing_user(world):
    Deal.objects.filter(id=world["A"].id).update(owner_id=MISSING)
    assert problems() == {"deal_owner": 1}


def test_deal_whose_current_stage_is_another_teams(world):
    Deal.objects.filter(id=world["A"].id).update(current_stage_id=world["south_stage"].id)
    assert problems() == {"deal_stage_team": 1}


def test_events_and_pending_mark_of_a_deleted_deal(world):
    raw_delete_deal(world["B"])
    assert problems() == {"event_deal": 2, "pending_deal": 1}


def test_event_of_a_missing_team(world):
    StageEvent.objects.filter(id=world["event"]["a1"].id).update(team_id=MISSING)
    assert problems() == {"event_team": 1, "event_deal_team": 1, "event_stage_team": 1}


def test_event_filed_under_another_team(world, other_team):
    StageEvent.objects.filter(id=world["event"]["b2"].id).update(team_id=other_team.id)
    assert problems() == {"event_deal_team": 1}  # an outcome: no stage to mismatch


def test_event_at_a_stage_of_another_team(world):
    StageEvent.objects.filter(id=world["event"]["a2"].id).update(stage_id=world["south_stage"].id)
    assert problems() == {"event_stage_team": 1}


def test_event_at_a_missing_stage(world):
    StageEvent.objects.filter(id=world["event"]["a2"].id).update(stage_id=MISSING)
    assert problems() == {"event_stage": 1}


def test_event_recorded_by_a_missing_user(world):
    StageEvent.objects.filter(id=world["event"]["a1"].id).update(recorded_by_id=MISSING)
    assert problems() == {"event_recorded_by": 1}


def test_observation_of_a_missing_deal(world):
    Observation.objects.filter(id=world["observation"].id).update(deal_id=MISSING)
    assert problems() == {"observation_deal": 1}


def test_observation_of_a_missing_characteristic(world):
    Observation.objects.filter(id=world["observation"].id).update(characteristic_id=MISSING)
    assert problems() == {"observation_characteristic": 1}


def test_observation_of_another_teams_characteristic(world):
    Observation.objects.filter(id=world["observation"].id).update(
        characteristic_id=world["south_characteristic"].id
    )
    assert problems() == {"observation_team": 1}


def test_passages_of_a_deleted_deal(world, team):
    team_pending_drain(team=team)
    passages = DealPassage.objects.filter(deal=world["B"]).count()
    assert passages == 1  # lost at inquiry
    raw_delete_deal(world["B"])
    try:
        assert problems() == {"event_deal": 2, "passage_deal": passages}
    finally:
        # DealPassage.deal keeps its database foreign key: the test database checks it at the
        # end of the test, so the orphan goes before then.
        DealPassage.objects.filter(deal_id=world["B"].id)._raw_delete(DealPassage.objects.db)


def test_samples_name_the_rows_and_stop_at_ten(world, team):
    events = [ev(f"x{n}", f"X{n}", 0, stage="inquiry") for n in range(12)]
    stage_events_ingest(team=team, origin="api", events=events)
    ids = list(
        StageEvent.objects.filter(event_id__startswith="x")
        .order_by("id")
        .values_list("id", flat=True)
    )
    StageEvent.objects.filter(id__in=ids).update(recorded_by_id=MISSING)
    report = integrity_check()
    (problem,) = [p for p in report.problems if p.count]
    assert (problem.key, problem.count, problem.sample) == (
        "event_recorded_by",
        12,
        tuple(ids[:10]),
    )
    (line,) = report.lines()
    assert line.split()[0] == "12"
    assert line.endswith(f"{ids[9]}, ...)")


def test_the_command_says_ok_on_a_clean_database(world):
    out = StringIO()
    call_command("integrity_check", stdout=out)
    assert "No orphans and no team mismatches." in out.getvalue()


def test_the_command_lists_the_problems_and_fails(world, other_team):
    raw_delete_deal(world["B"])
    StageEvent.objects.filter(id=world["event"]["a2"].id).update(stage_id=world["south_stage"].id)
    out = StringIO()
    with pytest.raises(CommandError, match=r"^4 row\(s\) need attention\.$") as raised:
        call_command("integrity_check", stdout=out)
    assert raised.value.returncode == 1
    b_events = sorted(world["event"][e].id for e in ("b1", "b2"))
    assert out.getvalue().splitlines() == [
        f"       2  stage events of a deal that does not exist  (ids {b_events[0]}, {b_events[1]})",
        f"       1  stage events at a stage of another team  (ids {world['event']['a2'].id})",
        f"       1  pending recompute marks of a deal that does not exist  (ids {world['B'].id})",
    ]


def test_the_command_line_exits_with_status_1(world, capsys):
    Deal.objects.filter(id=world["A"].id).update(owner_id=MISSING)
    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "integrity_check"])
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert "deals owned by a user who does not exist" in captured.out
    assert "1 row(s) need attention." in captured.err


def test_the_nightly_task_returns_the_counts(world):
    StageEvent.objects.filter(id=world["event"]["a1"].id).update(recorded_by_id=MISSING)
    counts = integrity_check_task.delay().get()
    assert {k: v for k, v in counts.items() if v} == {"event_recorded_by": 1}


# -- the recompute survives them --------------------------------------------------------------


def broken_everywhere(world, team, other_team):
    """Every kind of broken row the recompute reads around, in one team."""
    team_pending_drain(team=team)
    team_pending_drain(team=other_team)
    # Deal B's row goes after its passages were drained: its events, passages are orphans.
    raw_delete_deal(world["B"])
    # An event of A at a stage of another team, another at a stage that does not exist.
    StageEvent.objects.filter(id=world["event"]["a2"].id).update(stage_id=world["south_stage"].id)
    stage_events_ingest(team=team, origin="api", events=[ev("c1", "C", 1, stage="inquiry")])
    StageEvent.objects.filter(event_id="c1").update(stage_id=MISSING)
    # Pending marks: one of a deal that is gone, one of a deal that is another team's.
    PendingDeal.objects.bulk_create(
        [
            PendingDeal(deal_id=MISSING, team_id=team.id),
            PendingDeal(deal_id=Deal.objects.get(external_id="S").id, team_id=team.id),
            PendingDeal(deal_id=world["A"].id, team_id=team.id),
        ]
    )


def south_passages(other_team):
    return DealPassage.objects.filter(team=other_team).values_list(
        "deal__external_id", "stage__slug", "result"
    )


def warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelname == "WARNING" and r.name == "funnel.pipeline.passages"
    ]


def orphan_passages_drop(world):
    DealPassage.objects.filter(deal_id=world["B"].id)._raw_delete(DealPassage.objects.db)


def test_recompute_skips_broken_rows_and_says_so(world, team, other_team, caplog):
    broken_everywhere(world, team, other_team)
    try:
        with caplog.at_level("WARNING", logger="funnel.pipeline.passages"):
            status = team_recompute(team=team)
        assert status.team_id == team.id
        assert not PendingDeal.objects.filter(team=team).exists()
        # The other team's deal keeps its passages: a mark filed under this team is not enough
        # to count it here.
        assert list(south_passages(other_team)) == [("S", "inquiry", "open")]
        # A is counted at inquiry only: its move to another team's stage is skipped.
        a = DealPassage.objects.filter(deal=world["A"]).values_list("stage__slug", "result")
        assert sorted(a) == [("inquiry", "open")]
        assert warnings(caplog) == [
            f"passages team={team.slug}: skipped 2 pending marks of no deal of the team; "
            "manage.py integrity_check lists them",
            f"passages team={team.slug}: skipped 2 events at a stage not of the team; "
            "manage.py integrity_check lists them",
        ]
    finally:
        orphan_passages_drop(world)


def test_rebuild_skips_broken_rows_and_says_so(world, team, other_team, caplog):
    broken_everywhere(world, team, other_team)
    try:
        with caplog.at_level("WARNING", logger="funnel.pipeline.passages"):
            status = team_rebuild(team=team)
        assert BottleneckStatus.objects.filter(team=team).latest("computed_at", "id") == status
        # Only deal A is left to count, at inquiry; C's only event names no stage of the team.
        assert sorted(
            DealPassage.objects.filter(team=team).values_list("deal__external_id", "stage__slug")
        ) == [("A", "inquiry")]
        entered = StageFlow.objects.filter(team=team, kind="entered")
        assert sorted(entered.values_list("stage__slug", "count")) == [("inquiry", 1)]
        skipped_events = (
            f"passages team={team.slug}: skipped 2 events at a stage not of the team; "
            "manage.py integrity_check lists them"
        )
        assert warnings(caplog).count(skipped_events) == 2  # the rebuild, then the drain
    finally:
        orphan_passages_drop(world)


def test_winnable_counts_skip_observations_at_a_characteristic_not_of_the_team(
    world, team, rep, caplog
):
    budget, pain = (
        team.characteristics.get(slug=s) for s in ("budget-confirmed", "pain-quantified")
    )
    at = START + dt.timedelta(days=1)  # deal B closed on day 3
    kept = observation_record(
        deal=world["B"], characteristic=budget, value="yes", by=rep, observed_at=at
    )
    gone = observation_record(
        deal=world["B"], characteristic=pain, value="no", by=rep, observed_at=at
    )
    Observation.objects.filter(id=gone.id).update(characteristic_id=MISSING)
    Observation.objects.filter(id=world["observation"].id).update(
        deal_id=world["B"].id, characteristic_id=world["south_characteristic"].id
    )
    with caplog.at_level("WARNING", logger="funnel.winnable.services"):
        team_recompute(team=team, winnable=True)
    counted = WinnableCount.objects.filter(team=team, characteristic__isnull=False)
    assert list(counted.values_list("characteristic_id", "value", "closed")) == [
        (kept.characteristic_id, "yes", 1)
    ]
    assert [r.getMessage() for r in caplog.records if r.name == "funnel.winnable.services"] == [
        f"winnable team={team.slug}: skipped the observations of 2 closed deal(s) at a "
        "characteristic not of the team; manage.py integrity_check lists them"
    ]
