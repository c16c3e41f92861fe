"""A generated 10,000-row deal export imports exactly; counts are computed from the rows."""

import csv
import datetime as dt
import io
import random
import threading
from collections import Counter

import pytest
from django.db import connection

from funnel.imports.rows import PlanBuilder
from funnel.imports.run import import_job_run
from funnel.imports.service import import_job_create, import_job_validate
from funnel.models import Deal, DealStatus, ImportStatus, Membership, Observation, StageEvent

STAGES = {"Prospecting": "inquiry", "Engaging": "engaged", "Won": "won", "Lost": "lost"}


def generated_export(n: int, owners: list[str], seed: int = 7) -> tuple[bytes, list[dict]]:
    rng = random.Random(seed)
    start = dt.date(2023, 1, 1)
    rows = []
    for i in range(n):
        stage = rng.choice(list(STAGES))
        created = start + dt.timedelta(days=rng.randrange(300))
        engaged = (
            created + dt.timedelta(days=rng.randrange(1, 20)) if stage != "Prospecting" else None
        )
        closed = (
            engaged + dt.timedelta(days=rng.randrange(1, 60)) if stage in ("Won", "Lost") else None
        )
        rows.append(
            {
                "Deal ID": f"G{i:05d}",
                "Owner": rng.choice(owners),
                "Stage": stage,
                "Created": created.isoformat(),
                "Engage Date": engaged.isoformat() if engaged else "",
                "Close Date": closed.isoformat() if closed else "",
                "Amount": str(rng.randrange(0, 50000)),
                "Segment": rng.choice(["SMB", "Mid-market", "Enterprise", "None", ""]),
            }
        )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(), rows


def test_ten_thousand_rows(team, manager, rep):
    job = _import_and_check(team, manager, rep)
    assert "inside" not in job.summary["seconds"]  # one writer: inside a test's transaction


@pytest.mark.integration
def test_ten_thousand_rows_with_two_writers(transactional_db, team, manager, rep):
    """Outside a transaction on PostgreSQL (as in the Celery task) two writers split the rows
    by deal; the result is the same to the row, and a re-import still adds nothing."""
    assert connection.vendor == "postgresql"
    job = _import_and_check(team, manager, rep, chunk_rows=1500)
    assert set(job.summary["seconds"]["inside"]) >= {"writers_events", "writers_commit"}


FULL_MAPPING = {
    "shape": "deals",
    "columns": {
        "Deal ID": "deal_id",
        "Owner": "owner",
        "Stage": "stage",
        "Created": "created_at",
        "Engage Date": "entered:engaged",
        "Close Date": "closed_at",
        "Amount": "amount",
        "Segment": "new_characteristic",
    },
    "stage_values": STAGES,
}


def _import_and_check(team, manager, rep, chunk_rows=5000):
    job, rows = _validated_big_job(team, manager, rep, 10_000, FULL_MAPPING)
    job = import_job_run(job=job, chunk_rows=chunk_rows)

    expected_events = sum(1 + bool(r["Engage Date"]) + bool(r["Close Date"]) for r in rows)
    expected_status = Counter({"Won": "won", "Lost": "lost"}.get(r["Stage"], "open") for r in rows)
    expected_stage = Counter(
        STAGES[r["Stage"]] for r in rows if r["Stage"] in ("Prospecting", "Engaging")
    )
    expected_obs = Counter(r["Segment"] for r in rows if r["Segment"])
    expected_amount = sum(int(r["Amount"]) for r in rows)

    assert Deal.objects.filter(team=team).count() == 10_000
    assert StageEvent.objects.filter(team=team).count() == expected_events
    assert (
        Counter(Deal.objects.filter(team=team).values_list("status", flat=True)) == expected_status
    )
    assert (
        Counter(
            Deal.objects.filter(team=team, status=DealStatus.OPEN).values_list(
                "current_stage__slug", flat=True
            )
        )
        == expected_stage
    )
    assert sum(Deal.objects.filter(team=team).values_list("amount", flat=True)) == expected_amount
    assert Counter(Observation.objects.values_list("value", flat=True)) == expected_obs
    assert job.summary["events_accepted"] == expected_events
    assert job.summary["deals_created"] == 10_000
    assert job.processed_rows == 10_000

    # The same file again: nothing new.
    again = import_job_create(
        team=team, uploaded_by=manager, filename="big.csv", content=bytes(job.content)
    )
    import_job_validate(job=again, mapping=FULL_MAPPING)
    again.refresh_from_db()
    again = import_job_run(job=again, chunk_rows=chunk_rows)
    assert again.summary["events_accepted"] == 0
    assert again.summary["duplicates"] == expected_events
    assert again.summary["observations"] == 0
    assert StageEvent.objects.filter(team=team).count() == expected_events
    assert Observation.objects.count() == sum(expected_obs.values())
    return job


SHORT_MAPPING = {
    "shape": "deals",
    "columns": {"Deal ID": "deal_id", "Owner": "owner", "Stage": "stage", "Created": "created_at"},
    "stage_values": STAGES,
    "default_date": "2024-12-31",
}


def _validated_big_job(team, manager, rep, n, mapping=SHORT_MAPPING):
    """A generated export of n rows, uploaded and validated: (the job, the rows)."""
    content, rows = generated_export(n, [manager.email, rep.email])
    job = import_job_create(team=team, uploaded_by=manager, filename="big.csv", content=content)
    assert job.total_rows == n
    assert import_job_validate(job=job, mapping=mapping).errors == []
    job.refresh_from_db()
    return job, rows


@pytest.mark.integration
def test_an_error_while_converting_ends_the_writers(
    transactional_db, team, manager, rep, monkeypatch
):
    """The job fails with the error, and no writer thread is left waiting for rows."""
    assert connection.vendor == "postgresql"
    job, _ = _validated_big_job(team, manager, rep, 3000)
    before = threading.active_count()
    original, calls = PlanBuilder.add, []

    def add(self, rows):
        calls.append(len(rows))
        if len(calls) == 3:
            raise RuntimeError("conversion broke")
        return original(self, rows)

    monkeypatch.setattr(PlanBuilder, "add", add)
    with pytest.raises(RuntimeError, match="conversion broke"):
        import_job_run(job=job, chunk_rows=500, slice_rows=1000)
    assert threading.active_count() == before
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.summary["failure"].endswith(
        "of 3,000 rows on an unexpected error; it has been logged."
    )
    assert job.summary["error_detail"] == "RuntimeError: conversion broke"
    assert calls == [1000, 1000, 1000]  # slices of slice_rows; the third one broke


@pytest.mark.integration
def test_a_writer_error_fails_the_job(transactional_db, team, manager, rep):
    """A rep removed from the team after the file was checked: the writers' own validation
    refuses that rep's deals, and the job fails saying so."""
    assert connection.vendor == "postgresql"
    job, _ = _validated_big_job(team, manager, rep, 3000)
    before = threading.active_count()
    Membership.objects.filter(team=team, user=rep).delete()
    job = import_job_run(job=job, chunk_rows=500, slice_rows=1000)
    assert threading.active_count() == before
    assert job.status == ImportStatus.FAILED
    assert any(rep.email in e["message"] for e in job.errors)
