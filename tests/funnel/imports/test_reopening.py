"""Deals a file reopens after they were closed: the validation names them with their rows, the
manager decides, and each choice writes exactly what it says (issue 14, item 6)."""

import datetime as dt
import itertools

import pytest

from funnel.imports.run import import_job_run
from funnel.imports.service import (
    ImportRefused,
    import_job_create,
    import_job_decide,
    import_job_queue,
    import_job_validate,
)
from funnel.models import Deal, ImportStatus, ReopenChoice, StageEvent

EVENTS_MAPPING = {
    "shape": "events",
    "date_format": "iso",
    "columns": {"deal": "deal_id", "stage": "stage", "at": "occurred_at"},
    "stage_values": {
        s: s for s in ("inquiry", "engaged", "qualified", "proposal", "negotiation", "won", "lost")
    },
}

# Rows 2-13 (the header is row 1). R-1 is won, then gets two later stages (rows 4, 8). R-2 is
# lost, then won (row 7). R-3's rows stand in the file before its close but are later in time
# (row 12 after the close in row 13). T-1's won, proposal and inquiry rows: won and proposal at
# one instant, which the tie rule reads as proposal then won: no reopening.
FILE = b"""deal,stage,at
R-1,inquiry,2024-03-01T09:00:00+00:00
R-1,won,2024-03-10T09:00:00+00:00
R-1,proposal,2024-03-12T09:00:00+00:00
R-2,inquiry,2024-03-02T09:00:00+00:00
R-2,lost,2024-03-05T09:00:00+00:00
R-2,won,2024-03-20T09:00:00+00:00
R-1,negotiation,2024-03-15T09:00:00+00:00
T-1,won,2024-03-08T12:00:00+00:00
T-1,proposal,2024-03-08T12:00:00+00:00
T-1,inquiry,2024-03-01T09:00:00+00:00
R-3,qualified,2024-03-20T09:00:00+00:00
R-3,lost,2024-03-10T09:00:00+00:00
"""


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def validated(team, by, content, mapping=EVENTS_MAPPING):
    job = import_job_create(team=team, uploaded_by=by, filename="file.csv", content=content)
    assert import_job_validate(job=job, mapping=mapping).errors == []
    job.refresh_from_db()
    assert job.status == ImportStatus.VALID
    return job


def state(team) -> dict:
    """Each deal's (status, current stage, closed at, number of events)."""
    return {
        d.external_id: (
            d.status,
            d.current_stage.slug if d.current_stage_id else None,
            d.closed_at,
            StageEvent.objects.filter(deal=d).count(),
        )
        for d in Deal.objects.filter(team=team).select_related("current_stage")
    }


def test_the_warning_names_the_deals_and_their_rows(team, manager):
    job = validated(team, manager, FILE)
    reopened = job.summary["reopened"]
    assert (reopened["deals"], reopened["rows"], reopened["events"]) == (3, 4, 4)
    assert [
        (d["deal"], d["outcome"], d["closed_row"], d["rows"], d["more_rows"])
        for d in reopened["shown"]
    ] == [
        ("R-1", "won", 3, [4, 8], 0),
        ("R-2", "lost", 6, [7], 0),
        ("R-3", "lost", 13, [12], 0),
    ]
    assert reopened["shown"][0]["closed_at"] == "2024-03-10T09:00:00+00:00"
    assert job.on_reopen == ReopenChoice.UNDECIDED


def test_no_start_without_a_choice(team, manager):
    job = validated(team, manager, FILE)
    with pytest.raises(ImportRefused, match="3 deals would reopen after being closed"):
        import_job_queue(job=job)
    job.refresh_from_db()
    assert job.status == ImportStatus.VALID
    assert not Deal.objects.exists()


def test_reopen_writes_every_row(team, manager):
    job = validated(team, manager, FILE)
    import_job_decide(job=job, on_reopen=ReopenChoice.REOPEN)
    job = import_job_run(job=job, chunk_rows=5)
    assert job.status == ImportStatus.DONE
    assert job.summary["events_accepted"] == 12
    assert state(team) == {
        "R-1": ("open", "negotiation", None, 4),
        "R-2": ("won", "inquiry", utc(2024, 3, 20, 9), 3),
        "R-3": ("open", "qualified", None, 2),
        "T-1": ("won", "proposal", utc(2024, 3, 8, 12), 3),
    }
    assert job.summary["reopened"]["choice"] == "reopen"
    assert job.summary["reopened"]["deals"] == 3
    assert job.summary["rows_imported"] == 12


# Rows 4, 7, 8 and 12 left out: each deal as it was at its close.
KEPT_CLOSED = {
    "R-1": ("won", "inquiry", utc(2024, 3, 10, 9), 2),
    "R-2": ("lost", "inquiry", utc(2024, 3, 5, 9), 2),
    "R-3": ("lost", None, utc(2024, 3, 10, 9), 1),
    "T-1": ("won", "proposal", utc(2024, 3, 8, 12), 3),
}


def test_keep_closed_skips_the_rows_after_the_close(team, manager):
    job = validated(team, manager, FILE)
    import_job_decide(job=job, on_reopen=ReopenChoice.KEEP_CLOSED)
    job = import_job_run(job=job, chunk_rows=5)
    assert job.status == ImportStatus.DONE
    # Rows 4, 7, 8 and 12 are not written: 12 - 4 events.
    assert job.summary["events_accepted"] == 8
    assert state(team) == KEPT_CLOSED
    reopened = job.summary["reopened"]
    assert (reopened["choice"], reopened["deals"]) == ("keep_closed", 3)
    assert (reopened["rows_skipped"], reopened["events_skipped"]) == (4, 4)
    assert job.summary["rows_imported"] == 8
    job.refresh_from_db()
    assert job.on_reopen == ReopenChoice.KEEP_CLOSED
    assert job.processed_rows == 12


def test_keep_closed_with_two_writers(transactional_db, team, manager):
    """Outside a transaction on PostgreSQL (as in the Celery task) the rows left are written by
    the two writers; elsewhere in the calling thread. The same deals either way."""
    job = validated(team, manager, FILE)
    import_job_decide(job=job, on_reopen=ReopenChoice.KEEP_CLOSED)
    job = import_job_run(job=job, chunk_rows=2, slice_rows=4)
    assert job.status == ImportStatus.DONE
    assert state(team) == KEPT_CLOSED
    assert job.summary["events_accepted"] == 8


STORED = b"""deal,stage,at
X-1,inquiry,2024-03-01T09:00:00+00:00
X-1,won,2024-03-10T09:00:00+00:00
X-2,inquiry,2024-03-01T09:00:00+00:00
X-2,lost,2024-03-10T09:00:00+00:00
"""
# a stage before the stored close (history) and one at its very instant (sorts before the
# outcome): neither reopens it. X-2: a stage after its stored close (row 4) and a won (row 5).
LATER = b"""deal,stage,at
X-1,engaged,2024-03-05T09:00:00+00:00
X-1,proposal,2024-03-10T09:00:00+00:00
X-2,qualified,2024-03-15T09:00:00+00:00
X-2,won,2024-03-25T09:00:00+00:00
"""


@pytest.mark.parametrize(
    ("choice", "x2"),
    [
        (ReopenChoice.REOPEN, ("won", "qualified", utc(2024, 3, 25, 9), 4)),
        (ReopenChoice.KEEP_CLOSED, ("lost", "inquiry", utc(2024, 3, 10, 9), 2)),
    ],
)
def test_a_deal_closed_in_the_database(team, manager, choice, x2):
    import_job_run(job=validated(team, manager, STORED))
    job = validated(team, manager, LATER)
    reopened = job.summary["reopened"]
    assert [(d["deal"], d["outcome"], d["closed_row"], d["rows"]) for d in reopened["shown"]] == [
        ("X-2", "lost", None, [4, 5])
    ]
    import_job_decide(job=job, on_reopen=choice)
    import_job_run(job=job)
    assert state(team) == {
        "X-1": ("won", "proposal", utc(2024, 3, 10, 9), 4),
        "X-2": x2,
    }


def test_the_same_instant_in_any_file_order_gives_no_warning_and_one_position(team, manager):
    """Qualified, proposal and won stamped at one instant, in each of the six file orders (one
    deal each): the tie rule reads stages first, then the outcome, so nothing reopens and every
    deal ends won in proposal."""
    at = "2024-04-02T15:30:00+00:00"
    lines = [b"deal,stage,at"]
    for n, order in enumerate(itertools.permutations(["qualified", "proposal", "won"])):
        lines.append(f"D-{n},inquiry,2024-03-20T09:00:00+00:00".encode())
        lines += [f"D-{n},{stage},{at}".encode() for stage in order]
    job = validated(team, manager, b"\n".join(lines) + b"\n")
    assert "reopened" not in job.summary
    import_job_queue(job=job)  # no choice needed
    job.refresh_from_db()
    assert job.on_reopen == ReopenChoice.UNDECIDED
    import_job_run(job=job, chunk_rows=4)
    positions = {
        (d.status, d.current_stage.slug, d.stage_entered_at, d.closed_at)
        for d in Deal.objects.filter(team=team).select_related("current_stage")
    }
    assert positions == {("won", "proposal", utc(2024, 4, 2, 15, 30), utc(2024, 4, 2, 15, 30))}
    # Imported again: the deals are closed in the database now, and still nothing reopens.
    assert "reopened" not in validated(team, manager, b"\n".join(lines) + b"\n").summary


def test_a_new_check_asks_again(team, manager):
    job = validated(team, manager, FILE)
    import_job_decide(job=job, on_reopen=ReopenChoice.KEEP_CLOSED)
    import_job_validate(job=job, mapping=EVENTS_MAPPING)
    job.refresh_from_db()
    assert job.on_reopen == ReopenChoice.UNDECIDED


def test_many_deals_and_rows_are_counted_beyond_those_shown(team, manager):
    lines = [b"deal,stage,at"]
    for n in range(25):
        lines.append(f"M-{n},lost,2024-03-01T09:00:00+00:00".encode())
        lines += [
            f"M-{n},engaged,2024-03-{day:02d}T09:00:00+00:00".encode() for day in range(2, 10)
        ]
    job = validated(team, manager, b"\n".join(lines) + b"\n")
    reopened = job.summary["reopened"]
    assert (reopened["deals"], reopened["rows"]) == (25, 25 * 8)
    assert len(reopened["shown"]) == 20
    first = reopened["shown"][0]
    assert (first["deal"], first["closed_row"], first["rows"], first["more_rows"]) == (
        "M-0",
        2,
        [3, 4, 5, 6, 7],
        3,
    )
