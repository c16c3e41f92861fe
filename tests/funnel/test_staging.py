"""Rows through a staging table (funnel.staging, PostgreSQL): the same rows, order, skipped
conflicts and returned values as funnel.bulk's statements, in the caller's transaction."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from funnel.ingest.writes import EVENT_FIELDS
from funnel.models import Deal, PendingDeal, StageEvent
from funnel.staging import staged_insert, staged_update

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def deals(team):
    return [
        Deal.objects.create(team=team, external_id=f"D{i}", amount=Decimal("10.50"))
        for i in range(3)
    ]


def _event(team, deal, event_id, minutes):
    stage = team.stages.get(slug="inquiry")
    at = T0 + dt.timedelta(minutes=minutes)
    return (team.id, deal.id, stage.id, "", "", at, T0, event_id, "api", None, None)


def test_an_insert_skips_stored_keys_and_returns_exactly_what_it_wrote(team, deals):
    assert connection.vendor == "postgresql"
    with transaction.atomic():
        staged_insert(StageEvent, EVENT_FIELDS, [_event(team, deals[0], "e1", 0)])
    rows = [_event(team, deals[1], f"e{i}", i) for i in (3, 1, 2)]
    pending = PendingDeal._meta.db_table
    with transaction.atomic():
        inserted = staged_insert(
            StageEvent,
            EVENT_FIELDS,
            rows,
            conflict=("team_id", "event_id"),
            returning=("deal_id", "event_id"),
            then=(
                f"INSERT INTO {pending} (deal_id, team_id) SELECT DISTINCT deal_id, {team.id} "
                "FROM inserted ON CONFLICT (deal_id) DO NOTHING"
            ),
        )
    assert inserted == [(deals[1].id, "e3"), (deals[1].id, "e2")]
    # In the rows' order: the ids follow it.
    stored = StageEvent.objects.filter(event_id__in=["e3", "e2"]).order_by("id")
    assert [e.event_id for e in stored] == ["e3", "e2"]
    assert StageEvent.objects.get(event_id="e1").deal_id == deals[0].id
    assert list(PendingDeal.objects.values_list("deal_id", flat=True)) == [deals[1].id]


def test_an_update_writes_each_row_by_key_and_keeps_the_amounts_scale(team, deals):
    rows = [
        (Decimal("7"), "Acme", T0, deals[0].id),
        (Decimal("1234.56"), "Birch", None, deals[2].id),
    ]
    with transaction.atomic():
        staged_update(Deal, ("amount", "account", "opened_at"), rows)
    got = {d.id: (d.amount, d.account, d.opened_at) for d in Deal.objects.all()}
    assert got == {
        deals[0].id: (Decimal("7.00"), "Acme", T0),
        deals[1].id: (Decimal("10.50"), "", None),
        deals[2].id: (Decimal("1234.56"), "Birch", None),
    }


def test_two_uses_in_one_transaction_see_only_their_own_rows(team, deals):
    with transaction.atomic():
        first = staged_insert(
            StageEvent, EVENT_FIELDS, [_event(team, deals[0], "a", 0)], returning=("event_id",)
        )
        second = staged_insert(
            StageEvent, EVENT_FIELDS, [_event(team, deals[0], "b", 1)], returning=("event_id",)
        )
    assert (first, second) == ([("a",)], [("b",)])


@pytest.mark.django_db(transaction=True)
def test_the_staging_table_is_made_again_after_a_rollback_took_it_away(team, deals):
    """The first use of a session creates the table in its transaction; rolled back, the
    table goes with it, and the next transaction must not count on it."""
    with pytest.raises(DatabaseError), transaction.atomic():
        staged_insert(StageEvent, EVENT_FIELDS, [_event(team, deals[0], "x", 0)])
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1/0")
    with transaction.atomic():
        inserted = staged_insert(
            StageEvent, EVENT_FIELDS, [_event(team, deals[0], "y", 0)], returning=("event_id",)
        )
    assert inserted == [("y",)]
    assert list(StageEvent.objects.values_list("event_id", flat=True)) == ["y"]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_refuses(team, deals):
    """A COPY in autocommit would leave its rows for whoever stages next in the session."""
    with pytest.raises(RuntimeError):
        staged_update(Deal, ("account",), [("Acme", deals[0].id)])
