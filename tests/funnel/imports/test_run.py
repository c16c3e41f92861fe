"""The task body: progress once a chunk, where its time went, only new observations added."""

import gc
import logging
import re

from funnel.imports.run import import_job_run
from funnel.imports.service import import_job_create, import_job_validate
from funnel.models import Deal, ImportStatus, Membership, Observation, Role
from tests.funnel.imports.test_service import EXCEL_MAPPING


def validated_job(team, by, content):
    job = import_job_create(team=team, uploaded_by=by, filename="file.csv", content=content)
    assert import_job_validate(job=job, mapping=EXCEL_MAPPING).errors == []
    job.refresh_from_db()
    return job


def test_progress_once_a_chunk_and_timings_cover_the_run(team, manager, named_rep, csv_bytes):
    job = validated_job(team, manager, csv_bytes("deals_excel_semicolon.csv"))
    seen = []
    job = import_job_run(job=job, chunk_rows=3, on_progress=lambda j: seen.append(j.processed_rows))
    assert seen == [3, 4]  # rows 2-4, then row 5
    seconds = job.summary["seconds"]
    parts = {name: value for name, value in seconds.items() if name != "total"}
    assert {"read", "check", "events", "observations", "progress", "commit"} <= set(parts)
    assert abs(sum(parts.values()) - seconds["total"]) < 0.01  # rounding only


def test_garbage_collection_is_restored(team, manager, named_rep, csv_bytes):
    assert gc.isenabled()
    import_job_run(job=validated_job(team, manager, csv_bytes("deals_excel_semicolon.csv")))
    assert gc.isenabled()
    gc.disable()
    try:
        import_job_run(job=validated_job(team, manager, csv_bytes("deals_excel_semicolon.csv")))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_reimport_adds_only_changed_observations(team, manager, named_rep, csv_bytes):
    content = csv_bytes("deals_excel_semicolon.csv")
    import_job_run(job=validated_job(team, manager, content))
    assert Observation.objects.count() == 3
    changed = content.replace(b";Known;", b";Unknown;")  # D-2's competitor, same date
    job = import_job_run(job=validated_job(team, manager, changed))
    assert job.summary["observations"] == 1
    assert sorted(Observation.objects.values_list("deal__external_id", "value")) == [
        ("D-1", "None"),
        ("D-2", "Known"),
        ("D-2", "Unknown"),
        ("D-4", "Unknown"),
    ]


def test_a_row_the_team_no_longer_accepts_stops_the_writing_there(
    team, manager, named_rep, csv_bytes
):
    """Validated, then the team changed: the rows before the first bad one are stored, the job
    says where and why, and importing again after the fix adds the rest."""
    content = csv_bytes("deals_excel_semicolon.csv")
    job = validated_job(team, manager, content)
    Membership.objects.filter(team=team, user=manager).update(role=Role.EXECUTIVE)
    job = import_job_run(job=job, chunk_rows=1)  # one row a slice
    assert job.status == ImportStatus.FAILED
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "Sales Agent")]
    assert "max.manager@example.com" in job.errors[0]["message"]
    assert "1 row no longer passes, the first is row 3." in job.summary["failure"]
    assert list(Deal.objects.filter(team=team).values_list("external_id", flat=True)) == ["D-1"]

    Membership.objects.filter(team=team, user=manager).update(role=Role.MANAGER)
    job = import_job_run(job=validated_job(team, manager, content), chunk_rows=1)
    assert job.status == ImportStatus.DONE
    assert job.summary["deals_created"] == 3
    assert Deal.objects.filter(team=team).count() == 4


def log_lines(caplog, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


def test_a_run_logs_the_job_team_counts_and_time(team, manager, named_rep, csv_bytes, caplog):
    job = validated_job(team, manager, csv_bytes("deals_excel_semicolon.csv"))
    with caplog.at_level(logging.INFO):
        job = import_job_run(job=job, chunk_rows=3)
    [line] = log_lines(caplog, "funnel.imports.run")
    summary = job.summary
    assert line.startswith(
        f"import job={job.id} team=north done rows=4 "
        f"events_accepted={summary['events_accepted']} duplicates=0 deals_created=4 "
        f"observations={summary['observations']} in "
    )
    assert summary["events_accepted"] > 0 and re.search(r" in \d+ ms$", line)
    # Each chunk went in through the ingest service: a line a chunk, not a line a row.
    chunks = log_lines(caplog, "funnel.ingest")
    assert len(chunks) == 2
    assert all(c.startswith("ingest team=north origin=csv ") for c in chunks)


def test_a_run_that_stops_logs_why(team, manager, named_rep, csv_bytes, caplog):
    job = validated_job(team, manager, csv_bytes("deals_excel_semicolon.csv"))
    Membership.objects.filter(team=team, user=manager).update(role=Role.EXECUTIVE)
    with caplog.at_level(logging.INFO):
        job = import_job_run(job=job, chunk_rows=1)
    [record] = [r for r in caplog.records if r.name == "funnel.imports.run"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert message.startswith(f"import job={job.id} team=north failed rows=4 errors=1 in ")
    assert "1 row no longer passes" in message
