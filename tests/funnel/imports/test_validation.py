"""A file with problems: every bad row listed by row, column and message; nothing written."""

import pytest
from django.test import override_settings

from funnel.imports.run import import_job_run
from funnel.imports.service import ImportRefused, import_job_create, import_job_validate
from funnel.models import Deal, ImportStatus, Observation, StageEvent

MAPPING = {
    "shape": "deals",
    "date_format": "iso",
    "columns": {
        "opportunity_id": "deal_id",
        "sales_agent": "owner",
        "account": "account",
        "deal_stage": "stage",
        "engage_date": "entered:engaged",
        "close_date": "closed_at",
        "close_value": "amount",
    },
    "stage_values": {"Won": "won", "Lost": "lost", "Engaging": "engaged"},
}
BAD = (
    "opportunity_id,sales_agent,account,deal_stage,engage_date,close_date,close_value,segment\n"
    "G-1,Rita Rep,Acme,Won,2024-01-05,2024-02-01,1000,SMB\n"
    ",Rita Rep,Acme,Won,2024-01-05,2024-02-01,1000,SMB\n"
    "G-3,Nobody Known,Acme,Won,2024-01-05,2024-02-01,1000,SMB\n"
    "G-4,Rita Rep,Acme,Won,05/01/2024,2024-02-01,lots,SMB\n"
    "G-5,Rita Rep,Acme,Stalled,2024-01-05,,,SMB\n"
    "G-6,Rita Rep,Acme,Won,2024-01-05,,,SMB\n"
    "G-7,Rita Rep,Acme,Lost,2024-03-05,2024-02-01,-5,SMB\n"
    "G-8,Rita Rep,Acme,Won,2024-01-05,2999-01-01,1,SMB\n"
    "G-9,Rita Rep,Acme,Engaging,2024-01-05,,,SMB,extra\n"
)


def test_every_bad_row_listed_and_nothing_written(team, manager, named_rep):
    job = import_job_create(
        team=team, uploaded_by=manager, filename="bad.csv", content=BAD.encode()
    )
    plan = import_job_validate(job=job, mapping=MAPPING)
    found = sorted((e.row, e.column, e.message) for e in plan.errors)
    assert found == [
        (3, "opportunity_id", "A deal id is required."),
        (
            4,
            "sales_agent",
            "Unknown owner 'Nobody Known': not a rep or manager of this team "
            "(or let the import add missing owners as reps).",
        ),
        (5, "close_value", "'lots' is not an amount."),
        (5, "engage_date", "'05/01/2024' is not a date written YYYY-MM-DD."),
        (6, "deal_stage", "'Stalled' has no stage"),
        (7, "close_date", "A won deal needs a closed date."),
        (8, "close_date", "The closed date is before the deal's other dates."),
        (8, "close_value", "Amount must be from 0 to 999,999,999,999."),
        (9, "close_date", "2999-01-01 is in the future."),
        (10, "", "9 cells, but the header names 8."),
    ]
    job.refresh_from_db()
    assert job.status == ImportStatus.INVALID
    assert job.error_count == 10
    assert {"row": 3, "column": "opportunity_id", "message": "A deal id is required."} in job.errors
    assert not Deal.objects.exists()
    assert not StageEvent.objects.exists()
    assert not Observation.objects.exists()
    # The run re-checks the file and refuses too.
    job.status = ImportStatus.VALID
    job.save()
    job = import_job_run(job=job)
    assert job.status == ImportStatus.INVALID
    assert not Deal.objects.exists()


def test_mapping_problems_reported_against_the_header(team, manager):
    job = import_job_create(team=team, uploaded_by=manager, filename="m.csv", content=b"a,b\n1,2\n")
    plan = import_job_validate(
        job=job, mapping={"shape": "events", "columns": {"a": "amount", "b": "amount"}}
    )
    assert [(e.row, e.message) for e in plan.errors] == [
        (1, "More than one column is mapped to 'amount'."),
        (1, "Map one column to the deal id."),
        (1, "One row per event needs a column for the event time."),
        (1, "One row per event needs a column for the stage or outcome."),
    ]


@override_settings(CSV_IMPORT_MAX_BYTES=1000)
def test_file_over_the_limit_refused_before_parsing(team, manager):
    # Not even valid text: the size check comes first.
    with pytest.raises(ImportRefused, match="the limit is"):
        import_job_create(
            team=team, uploaded_by=manager, filename="big.csv", content=b"\xff" * 1001
        )
    assert not team.import_jobs.exists()


def test_unreadable_file_refused(team, manager):
    with pytest.raises(ImportRefused, match="empty"):
        import_job_create(team=team, uploaded_by=manager, filename="empty.csv", content=b"")
