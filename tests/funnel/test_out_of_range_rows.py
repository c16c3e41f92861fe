"""Rows written around the boundaries (issue 17, item 1): a time PostgreSQL holds but Python
cannot (year 0 once in UTC, or past 9999) is read clamped to the edge of the calendar, so the
deal's pages and its admin pages open, the admin can delete it with its log, and the nightly
and manual rebuilds mark that team and carry on with the others. The rows are planted with
raw SQL, as no boundary lets them in. PostgreSQL only: SQLite stores such times as text."""

import datetime as dt

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from funnel.db_loaders import out_of_range
from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import BottleneckStatus, Deal, Origin, RecomputeState, StageEvent
from funnel.pipeline.tasks import teams_rebuild_task

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="plants times only PostgreSQL can hold"
    ),
]

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
YEAR_ZERO = "0001-01-01 00:00:00+14"  # 31 Dec 1 BC, 10:00 in UTC
PAST_9999 = "10000-01-01 00:00:00+00"


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _deals(team, prefix, count=3):
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
            for i in range(count)
        ],
    )


def _plant(deal: Deal, when: str) -> None:
    """The deal's first event and every date of the deal moved to `when`, by raw SQL."""
    event = StageEvent.objects.filter(deal=deal).order_by("id").first()
    with pgtrigger.ignore("funnel.StageEvent:stage_event_no_update"), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE funnel_stageevent SET occurred_at = %s WHERE id = %s", [when, event.id]
        )
        cursor.execute(
            "UPDATE funnel_deal SET stage_entered_at = %s, opened_at = %s, last_event_at = %s "
            "WHERE id = %s",
            [when, when, when, deal.id],
        )


@pytest.fixture
def bad_deal(team):
    _deals(team, "N")
    deal = Deal.objects.get(team=team, external_id="N-D0")
    _plant(deal, YEAR_ZERO)
    return deal


def admin_url(name, *args):
    return reverse(f"admin:funnel_deal_{name}", args=args)


@pytest.mark.parametrize(("when", "edge"), [(YEAR_ZERO, 1), (PAST_9999, 9999)])
def test_a_time_outside_pythons_calendar_reads_as_its_edge(team, when, edge):
    _deals(team, "N", count=1)
    deal = Deal.objects.get(team=team)
    _plant(deal, when)
    event = StageEvent.objects.get(deal=deal)
    deal.refresh_from_db()
    assert event.occurred_at.year == edge and event.occurred_at.tzinfo is not None
    assert out_of_range(event.occurred_at) and out_of_range(deal.opened_at)
    assert not out_of_range(T0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::date, %s::timestamp", [when, when])
        day, naive = cursor.fetchone()
    assert (day.year, naive.year) == (edge, edge) and out_of_range(day)


def test_a_new_event_for_the_bad_deal_is_stored(team, bad_deal):
    """A batch reads its stored deals with psycopg's own time loader, which refuses such a
    time: the rows are read again through the clamping loaders and the event is stored."""
    later = EventIn(
        event_id="N-late",
        deal_external_id="N-D0",
        occurred_at=T0 + dt.timedelta(days=30),
        stage="inquiry",
    )
    result = stage_events_ingest(team=team, origin=Origin.API, events=[later])
    assert (result.accepted, result.duplicates) == (1, 0)
    assert StageEvent.objects.filter(deal=bad_deal, event_id="N-late").exists()


def test_the_admin_opens_and_deletes_the_bad_deal_with_its_log(
    admin_client, team, bad_deal, django_capture_on_commit_callbacks
):
    good = Deal.objects.get(team=team, external_id="N-D1")
    assert admin_client.get(admin_url("changelist")).status_code == 200
    assert admin_client.get(admin_url("change", bad_deal.pk)).status_code == 200
    assert admin_client.get(reverse("admin:funnel_stageevent_changelist")).status_code == 200
    confirm = admin_client.get(admin_url("delete", bad_deal.pk))
    assert confirm.status_code == 200
    assert b"N-D0" in confirm.content
    # A deal within the calendar still leaves only with its team.
    assert admin_client.get(admin_url("delete", good.pk)).status_code == 403

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(admin_url("delete", bad_deal.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Deal.objects.filter(id=bad_deal.id).exists()
    assert not StageEvent.objects.filter(deal_id=bad_deal.id).exists()
    assert StageEvent.objects.filter(team=team).count() == 2
    # The rebuild the deletion asked for (eager here) counts the two deals left.
    status = BottleneckStatus.objects.filter(team=team).latest("computed_at")
    assert status.watermark == StageEvent.objects.filter(team=team).latest("id").id
    assert RecomputeState.objects.get(team=team).failed_at is None


def test_the_deal_list_and_page_open(login, manager, team, bad_deal):
    client = login(manager)
    listing = client.get(reverse("deal_list", args=[team.slug]))
    assert listing.status_code == 200
    assert b"N-D0" in listing.content
    assert client.get(reverse("deal_detail", args=[team.slug, bad_deal.id])).status_code == 200


def test_the_nightly_rebuild_marks_the_bad_team_and_rebuilds_the_others(team, other_team, bad_deal):
    _deals(other_team, "S")
    BottleneckStatus.objects.all().delete()

    assert teams_rebuild_task() == sorted([team.id, other_team.id])

    marked = RecomputeState.objects.get(team=team)
    assert marked.failed_at is not None
    assert "N-D0" in marked.failure and "1970 to 9999" in marked.failure
    assert not BottleneckStatus.objects.filter(team=team).exists()
    assert BottleneckStatus.objects.filter(team=other_team).exists()
    assert RecomputeState.objects.get(team=other_team).failed_at is None


def test_manage_py_recompute_names_the_bad_team_and_does_the_others(team, other_team, bad_deal):
    _deals(other_team, "S")
    BottleneckStatus.objects.all().delete()

    with pytest.raises(CommandError, match=r"failed for 1 team\(s\): north"):
        call_command("recompute", "--rebuild")
    assert BottleneckStatus.objects.filter(team=other_team).exists()

    call_command("recompute")  # without --rebuild the drained log is read clamped, no crash
    assert BottleneckStatus.objects.filter(team=team).exists()
