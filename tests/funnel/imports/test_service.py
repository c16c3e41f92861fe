"""The import service end to end on the SQLite default: each shape, re-import, owners,
characteristics and observations."""

import datetime as dt
import logging
from decimal import Decimal

import pytest

from funnel.imports.run import import_job_run
from funnel.imports.service import (
    ImportRefused,
    import_job_create,
    import_job_queue,
    import_job_validate,
)
from funnel.models import (
    Characteristic,
    Deal,
    ImportMapping,
    ImportStatus,
    Membership,
    Observation,
    Role,
    StageEvent,
)

EXCEL_MAPPING = {
    "shape": "deals",
    "date_format": "dmy",
    "decimal_comma": True,
    "columns": {
        "Opportunity ID": "deal_id",
        "Sales Agent": "owner",
        "Account": "account",
        "Close Value": "amount",
        "Stage": "stage",
        "Created Date": "created_at",
        "Date entered Qualified": "entered:qualified",
        "Close Date": "closed_at",
        "Competitor Type": "new_characteristic",
        "Region": "ignore",
    },
    "stage_values": {
        "Won": "won",
        "Lost": "lost",
        "Qualified": "qualified",
        "Prospecting": "inquiry",
    },
}


def utc(y, m, d, hh=0, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=dt.UTC)


def run(team, by, content, mapping, filename="file.csv"):
    job = import_job_create(team=team, uploaded_by=by, filename=filename, content=content)
    plan = import_job_validate(job=job, mapping=mapping)
    assert plan.errors == []
    job.refresh_from_db()
    assert job.status == ImportStatus.VALID
    return import_job_run(job=job, chunk_rows=2)


def event_log(deal):
    return [
        (e.stage.slug if e.stage_id else e.outcome, e.occurred_at)
        for e in deal.events.select_related("stage").order_by("occurred_at", "id")
    ]


def test_deal_shape_excel_file(
    team, manager, named_rep, csv_bytes, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = run(team, manager, csv_bytes("deals_excel_semicolon.csv"), EXCEL_MAPPING)
    assert job.status == ImportStatus.DONE
    deals = {d.external_id: d for d in Deal.objects.filter(team=team)}
    assert set(deals) == {"D-1", "D-2", "D-3", "D-4"}
    d1 = deals["D-1"]
    assert (d1.status, d1.owner_id, d1.account, d1.amount) == (
        "won",
        named_rep.id,
        "Acme",
        Decimal("1200.50"),
    )
    assert event_log(d1) == [
        ("inquiry", utc(2024, 1, 3)),
        ("qualified", utc(2024, 1, 15)),
        ("won", utc(2024, 2, 20)),
    ]
    assert event_log(deals["D-2"]) == [("inquiry", utc(2024, 1, 4)), ("lost", utc(2024, 2, 28))]
    assert deals["D-2"].owner_id == manager.id  # matched by email
    d3 = deals["D-3"]
    assert (d3.status, d3.current_stage.slug, d3.stage_entered_at) == (
        "open",
        "qualified",
        utc(2024, 2, 12),
    )
    assert d3.amount is None and d3.account == ""
    assert event_log(deals["D-4"]) == [("inquiry", utc(2024, 2, 11))]
    assert StageEvent.objects.filter(team=team, origin="csv").count() == 8
    # "None" is a category; an empty cell records nothing.
    competitor = Characteristic.objects.get(team=team, slug="competitor-type")
    assert (competitor.kind, competitor.choices) == ("choice", ["Known", "None", "Unknown"])
    observed = {
        (o.deal.external_id, o.value, o.observed_at, o.origin)
        for o in Observation.objects.filter(characteristic=competitor).select_related("deal")
    }
    assert observed == {
        ("D-1", "None", utc(2024, 2, 20), "csv"),  # closed deals: at the close date
        ("D-2", "Known", utc(2024, 2, 28), "csv"),
        ("D-4", "Unknown", utc(2024, 2, 11), "csv"),  # open deals: at the created date
    }
    assert job.summary["events_accepted"] == 8
    assert job.summary["deals_created"] == 4
    assert job.summary["observations"] == 3
    assert job.summary["characteristics_created"] == ["Competitor Type"]
    assert job.processed_rows == job.total_rows == 4
    # The mapping is saved for the next file with this header.
    assert ImportMapping.objects.get(team=team).mapping["date_format"] == "dmy"


def test_reimport_adds_nothing(team, manager, named_rep, csv_bytes):
    run(team, manager, csv_bytes("deals_excel_semicolon.csv"), EXCEL_MAPPING)
    counts = (StageEvent.objects.count(), Observation.objects.count(), Deal.objects.count())
    job = run(team, manager, csv_bytes("deals_excel_semicolon.csv"), EXCEL_MAPPING)
    assert (StageEvent.objects.count(), Observation.objects.count(), Deal.objects.count()) == counts
    assert job.summary["events_accepted"] == 0
    assert job.summary["duplicates"] == 8
    assert job.summary["observations"] == 0
    assert job.summary["deals_created"] == 0


def test_saved_mapping_is_preapplied(team, manager, named_rep, csv_bytes):
    run(team, manager, csv_bytes("deals_excel_semicolon.csv"), EXCEL_MAPPING)
    job = import_job_create(
        team=team,
        uploaded_by=manager,
        filename="again.csv",
        content=csv_bytes("deals_excel_semicolon.csv"),
    )
    assert job.mapping["date_format"] == "dmy"
    assert job.mapping["columns"]["Region"] == "ignore"
    assert job.mapping["decimal_comma"] is True


def test_event_shape(team, manager, named_rep, csv_bytes):
    mapping = {
        "shape": "events",
        "date_format": "iso",
        "columns": {
            "event_id": "event_id",
            "deal_id": "deal_id",
            "stage": "stage",
            "occurred_at": "occurred_at",
            "owner": "owner",
            "amount": "amount",
            "source": "source",
            "lost_reason": "lost_reason",
        },
        "stage_values": {
            "inquiry": "inquiry",
            "engaged": "engaged",
            "lost": "lost",
            "qualified": "qualified",
        },
    }
    job = run(team, manager, csv_bytes("events.csv"), mapping)
    a1 = Deal.objects.get(team=team, external_id="A-1")
    assert (a1.status, a1.lost_reason, a1.source, a1.amount) == (
        "lost",
        "No budget",
        "webinar",
        1000,
    )
    assert event_log(a1) == [
        ("inquiry", utc(2024, 3, 1, 9)),
        ("engaged", utc(2024, 3, 4, 10)),
        ("lost", utc(2024, 3, 20, 16, 30)),
    ]
    assert set(a1.events.values_list("event_id", flat=True)) == {"e1", "e2", "e3"}
    a2 = Deal.objects.get(team=team, external_id="A-2")
    assert (a2.status, a2.current_stage.slug) == ("open", "qualified")
    # A row without an event id gets one derived from its content.
    assert a2.events.filter(event_id="e4").exists()
    assert a2.events.filter(event_id__startswith="csv:A-2:qualified:2024-03-09").exists()
    assert job.summary["events_accepted"] == 5


def test_unknown_owners_created_as_reps_when_asked(team, manager):
    content = (
        b"deal id,owner,stage,close date\n"
        b"X-1,Jane van Dyke,Won,2024-05-01\n"
        b"X-2,new.person@example.com,Lost,2024-05-02\n"
    )
    mapping = {
        "shape": "deals",
        "columns": {
            "deal id": "deal_id",
            "owner": "owner",
            "stage": "stage",
            "close date": "closed_at",
        },
        "stage_values": {"Won": "won", "Lost": "lost"},
    }
    job = import_job_create(team=team, uploaded_by=manager, filename="o.csv", content=content)
    plan = import_job_validate(job=job, mapping=mapping)
    assert [(e.row, e.column) for e in plan.errors] == [(2, "owner"), (3, "owner")]
    assert "Unknown owner 'Jane van Dyke'" in plan.errors[0].message
    plan = import_job_validate(job=job, mapping={**mapping, "create_missing_owners": True})
    assert plan.errors == []
    job.refresh_from_db()
    job = import_job_run(job=job)
    assert job.summary["owners_created"] == [
        "Jane van Dyke <jane.van.dyke@imported.invalid>",
        "new.person@example.com",
    ]
    jane = Membership.objects.get(team=team, user__email="jane.van.dyke@imported.invalid")
    assert jane.role == Role.REP and jane.user.get_full_name() == "Jane van Dyke"
    assert Deal.objects.get(external_id="X-1").owner_id == jane.user_id


def test_existing_characteristics_take_their_kind(team, manager):
    content = (
        b"deal,stage,close date,Budget confirmed,Prospect department\n"
        b"P-1,Won,2024-05-01,Yes,finance\n"
        b"P-2,Lost,2024-05-02,maybe,Finance\n"
        b"P-3,Lost,2024-05-02,,Astrology\n"
    )
    mapping = {
        "shape": "deals",
        "columns": {
            "deal": "deal_id",
            "stage": "stage",
            "close date": "closed_at",
            "Budget confirmed": "characteristic:budget-confirmed",
            "Prospect department": "characteristic:prospect-department",
        },
        "stage_values": {"Won": "won", "Lost": "lost"},
    }
    job = import_job_create(team=team, uploaded_by=manager, filename="c.csv", content=content)
    plan = import_job_validate(job=job, mapping=mapping)
    assert [(e.row, e.column) for e in plan.errors] == [
        (3, "Budget confirmed"),
        (4, "Prospect department"),
    ]
    assert plan.errors[0].message == "'maybe' is not yes or no."
    good = content.replace(b"maybe", b"no").replace(b"Astrology", b"IT")
    job = run(team, manager, good, mapping)
    values = set(
        Observation.objects.filter(deal__team=team).values_list(
            "deal__external_id", "characteristic__slug", "value"
        )
    )
    assert values == {
        ("P-1", "budget-confirmed", "yes"),
        ("P-1", "prospect-department", "Finance"),
        ("P-2", "budget-confirmed", "no"),
        ("P-2", "prospect-department", "Finance"),
        ("P-3", "prospect-department", "IT"),
    }


@pytest.mark.parametrize("policy", ["error", "first"])
def test_repeated_deal_ids(team, manager, policy):
    content = (
        b"deal,stage,close date\nR-1,Won,2024-05-01\nR-1,Won,2024-05-01\nR-1,Lost,2024-05-03\n"
    )
    mapping = {
        "shape": "deals",
        "columns": {"deal": "deal_id", "stage": "stage", "close date": "closed_at"},
        "stage_values": {"Won": "won", "Lost": "lost"},
        "on_repeated_deal": policy,
    }
    job = import_job_create(team=team, uploaded_by=manager, filename="r.csv", content=content)
    plan = import_job_validate(job=job, mapping=mapping)
    if policy == "error":
        # An exact copy of a row is skipped; a conflicting one is an error.
        assert [(e.row, e.column, e.message) for e in plan.errors] == [
            (4, "deal", "Deal R-1 already appears in row 2.")
        ]
    else:
        assert plan.errors == [] and plan.skipped_rows == 2
        job.refresh_from_db()
        import_job_run(job=job)
        assert Deal.objects.get(external_id="R-1").status == "won"


def test_undated_file_uses_the_default_date(team, manager):
    # As the IBM win/loss sample: outcomes and categories, no dates at all.
    content = b"Opportunity Number,Opportunity Result,Competitor Type\n1,Won,None\n2,Loss,Known\n"
    mapping = {
        "shape": "deals",
        "columns": {
            "Opportunity Number": "deal_id",
            "Opportunity Result": "stage",
            "Competitor Type": "new_characteristic",
        },
        "stage_values": {"Won": "won", "Loss": "lost"},
        "default_date": "2015-04-01",
    }
    job = run(team, manager, content, mapping)
    assert job.summary["observations"] == 2
    assert set(Observation.objects.values_list("deal__external_id", "value", "observed_at")) == {
        ("1", "None", utc(2015, 4, 1)),
        ("2", "Known", utc(2015, 4, 1)),
    }
    assert set(Deal.objects.values_list("external_id", "status", "closed_at")) == {
        ("1", "won", utc(2015, 4, 1)),
        ("2", "lost", utc(2015, 4, 1)),
    }


def test_each_step_logs_the_job_team_and_rows(team, manager, named_rep, csv_bytes, caplog):
    with caplog.at_level(logging.INFO, logger="funnel.imports.service"):
        job = import_job_create(
            team=team,
            uploaded_by=manager,
            filename="deals.csv",
            content=csv_bytes("deals_excel_semicolon.csv"),
        )
        import_job_validate(job=job, mapping=EXCEL_MAPPING)
        import_job_queue(job=job)
    created, validated, queued = [
        r.getMessage() for r in caplog.records if r.name == "funnel.imports.service"
    ]
    assert created.startswith(f"import job={job.id} team=north created file='deals.csv' ")
    assert "rows=4 shape=deals in " in created
    assert validated.startswith(f"import job={job.id} team=north validated status=valid rows=4 ")
    assert "errors=0 reopened_deals=0 in " in validated
    assert queued == f"import job={job.id} team=north queued rows=4 on_reopen=-"


def test_a_refused_file_is_logged_with_its_team(team, manager, settings, caplog):
    settings.CSV_IMPORT_MAX_BYTES = 10
    with caplog.at_level(logging.INFO), pytest.raises(ImportRefused):
        import_job_create(team=team, uploaded_by=manager, filename="big.csv", content=b"x" * 11)
    [line] = [r.getMessage() for r in caplog.records if r.name == "funnel.imports.service"]
    assert line.startswith("import refused team=north file='big.csv' bytes=11: The file has ")
