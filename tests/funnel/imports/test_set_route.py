"""The set-based route (PostgreSQL) stores what the row-by-row route stores: the same file imported
into two alike teams, one by each route, leaves the same deals, events, positions, observations,
pending marks, characteristics and owners; importing it again changes nothing in either; a file
with errors writes nothing in either."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings

from funnel.imports.facts import stage_values_fill, team_facts
from funnel.imports.mapping import mapping_complete
from funnel.imports.parsing import csv_parse
from funnel.imports.rows import import_plan
from funnel.imports.run import import_job_run
from funnel.imports.service import import_job_create, import_job_validate
from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import (
    Characteristic,
    CharacteristicKind,
    Deal,
    ImportStatus,
    Membership,
    Observation,
    Origin,
    PendingDeal,
    Role,
    StageEvent,
    Team,
)
from funnel.services import membership_add, team_create
from tests.funnel.imports.test_columnar import RICH_MAPPING, rich_export

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the set-based route is PostgreSQL's"
)


def _team(slug: str) -> Team:
    team = team_create(slug=slug, name=slug)
    membership_add(team=team, email="max.manager@example.com", role=Role.MANAGER)
    _, _, rep = membership_add(team=team, email="rita.rep@example.com", role=Role.REP)
    rep.first_name, rep.last_name = "Rita", "Rep"
    rep.save()
    Characteristic.objects.create(
        team=team, slug="budget", name="Budget", kind=CharacteristicKind.YES_NO, position=10
    )
    Characteristic.objects.create(
        team=team, slug="seats", name="Seats", kind=CharacteristicKind.NUMBER, position=11
    )
    return team


def _robbed_id(team: Team, content: bytes) -> str:
    """The id of an event the file gives deal D-00010 (a new deal of the file)."""
    table = csv_parse(content)
    facts = team_facts(team=team)
    mapping = stage_values_fill(mapping_complete(RICH_MAPPING, table.header), table, facts.stages)
    plan = import_plan(table, mapping, facts)
    return next(e.event_id for _, es, _ in plan.rows for e in es if e.deal_external_id == "D-00010")


def _preload(team: Team, content: bytes | None = None) -> None:
    """Deals the file names, stored first: one open with other attributes, one won before the
    file's dates (the file reopens it), one with an event later than the file's (its log is
    re-read), one with an earlier event."""
    at = dt.datetime(2023, 3, 1, 12, tzinfo=dt.UTC)
    events = [
        EventIn("pre-1", "D-00003", at, stage="inquiry", account="Old", amount=Decimal(5)),
        EventIn("pre-2", "D-00004", at, outcome="won"),
        EventIn("pre-3", "D-00005", at + dt.timedelta(days=900), stage="qualified"),
        EventIn("pre-4", "D-00006", at - dt.timedelta(days=90), stage="inquiry"),
    ]
    if content is not None:  # another deal holds the id of one of a new deal's events
        events.append(EventIn(_robbed_id(team, content), "Z-1", at, stage="inquiry"))
    stage_events_ingest(team=team, events=events, origin=Origin.API)


def _run(team: Team, content: bytes, *, set_based: bool):
    manager = Membership.objects.get(team=team, role=Role.MANAGER).user
    with override_settings(IMPORT_SET_BASED=set_based):
        job = import_job_create(team=team, uploaded_by=manager, filename="f.csv", content=content)
        plan = import_job_validate(job=job, mapping=RICH_MAPPING)
        job.refresh_from_db()
        if plan.errors:
            return job
        return import_job_run(job=job)


def _stored(team: Team) -> dict:
    """What the team holds, by external ids and slugs (ids and write times differ)."""
    deals = {
        d.external_id: (
            d.owner.email if d.owner else None,
            d.amount,
            d.account,
            d.department,
            d.source,
            d.status,
            d.lost_reason,
            d.current_stage.slug if d.current_stage else None,
            d.stage_entered_at,
            d.opened_at,
            d.closed_at,
            d.last_event_at,
        )
        for d in Deal.objects.filter(team=team).select_related("owner", "current_stage")
    }
    events = sorted(
        (
            e.deal.external_id,
            e.event_id,
            e.stage.slug if e.stage else None,
            e.outcome,
            e.lost_reason,
            e.occurred_at,
            e.origin,
            e.recorded_by.email if e.recorded_by else None,
        )
        for e in StageEvent.objects.filter(team=team).select_related("deal", "stage", "recorded_by")
    )
    observations = sorted(
        (
            o.deal.external_id,
            o.characteristic.slug,
            o.value,
            o.value_number,
            o.observed_at,
            o.origin,
            o.observed_by.email if o.observed_by else None,
        )
        for o in Observation.objects.filter(deal__team=team).select_related(
            "deal", "characteristic", "observed_by"
        )
    )
    return {
        "deals": deals,
        "events": events,
        "observations": observations,
        "pending": sorted(
            PendingDeal.objects.filter(team=team).values_list("deal__external_id", flat=True)
        ),
        "characteristics": sorted(
            Characteristic.objects.filter(team=team).values_list("slug", "name", "kind", "choices")
        ),
        "members": sorted(Membership.objects.filter(team=team).values_list("user__email", "role")),
    }


COUNTS = ("rows", "events_accepted", "duplicates", "deals_created", "deals_updated", "observations")


def _counts(job) -> dict:
    return {name: job.summary[name] for name in COUNTS} | {
        k: job.summary[k] for k in ("newest_event", "owners_created", "characteristics_created")
    }


@pytest.mark.django_db
@pytest.mark.parametrize("preloaded", [False, True])
def test_both_routes_store_the_same_and_a_second_import_changes_nothing(preloaded):
    by_sets, by_rows = _team("sets"), _team("rows")
    content = rich_export(300, 7)
    if preloaded:
        _preload(by_sets, content)
        _preload(by_rows, content)
    first_sets = _run(by_sets, content, set_based=True)
    first_rows = _run(by_rows, content, set_based=False)
    assert first_sets.status == first_rows.status == ImportStatus.DONE
    assert first_sets.summary["route"] == "set-based"
    assert "route" not in first_rows.summary
    assert _counts(first_sets) == _counts(first_rows)
    stored = _stored(by_sets)
    assert stored == _stored(by_rows)
    assert len(stored["events"]) > 300 and len(stored["observations"]) > 300

    # The same file again: nothing new, nothing changed.
    again_sets = _run(by_sets, content, set_based=True)
    again_rows = _run(by_rows, content, set_based=False)
    assert _counts(again_sets) == _counts(again_rows)
    assert again_sets.summary["events_accepted"] == again_sets.summary["observations"] == 0
    assert again_sets.summary["deals_created"] == again_sets.summary["deals_updated"] == 0
    assert _stored(by_sets) == stored == _stored(by_rows)

    # A later export: other attributes, later stages, more deals.
    later = rich_export(360, 8)
    assert _counts(_run(by_sets, later, set_based=True)) == _counts(
        _run(by_rows, later, set_based=False)
    )
    assert _stored(by_sets) == _stored(by_rows)


@pytest.mark.django_db
def test_a_file_with_errors_writes_nothing_by_either_route():
    by_sets, by_rows = _team("sets"), _team("rows")
    _preload(by_sets)
    _preload(by_rows)
    before = _stored(by_sets)
    bad = rich_export(200, 9).decode().replace(",yes,", ",maybe,", 1).encode()
    job_sets = _run(by_sets, bad, set_based=True)
    job_rows = _run(by_rows, bad, set_based=False)
    assert job_sets.status == job_rows.status == ImportStatus.INVALID
    assert job_sets.errors == job_rows.errors and job_sets.errors
    assert _stored(by_sets) == before == _stored(by_rows)
