"""What a run writes, in batches of converted rows: the file a slice at a time (each slice
written while the next is converted), or, when the deals the file reopens are kept closed, the
whole file converted first and those deals' events after their close left out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from funnel.imports.parsing import CsvTable
from funnel.imports.plan import PlanRow, TeamFacts
from funnel.imports.reopening import rows_kept_closed
from funnel.imports.rows import PlanBuilder
from funnel.imports.service import import_reopenings
from funnel.models import ImportJob

logger = logging.getLogger(__name__)


def row_slices(count: int, size: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of each slice of `size` rows."""
    for start in range(0, count, size):
        yield start, min(count, start + size)


def rows_converted(
    *, table: CsvTable, builder: PlanBuilder, size: int, lap: Callable[[str], None]
) -> Iterator[list[PlanRow]]:
    """The file's rows converted a slice at a time: the rows of each slice without errors."""
    for start, stop in row_slices(len(table.rows), size):
        rows = builder.add(table.rows[start:stop])
        lap("check")
        yield rows


def rows_converted_kept_closed(
    *,
    job: ImportJob,
    table: CsvTable,
    builder: PlanBuilder,
    facts: TeamFacts,
    size: int,
    lap: Callable[[str], None],
    into: dict,
) -> Iterator[list[PlanRow]]:
    """The deals the file reopens are kept closed: their events after the close are left out.
    Which events those are depends on every row of a deal (a later row may be earlier in time),
    so the whole file is converted first, and the stored closes read as they are now. `into`
    gets what was left out."""
    builder.add(table.rows)
    lap("check")
    if builder.failed:
        return  # nothing is written; the caller reports the problems
    reopenings = import_reopenings(team=job.team, plan=builder.plan, facts=facts)
    rows, left_out = rows_kept_closed(builder.plan.rows, reopenings.after_close)
    into.update(
        deals=len(reopenings.deals),
        rows=reopenings.rows,
        rows_skipped=left_out,
        events_skipped=reopenings.events,
    )
    lap("reopenings")
    logger.info(
        "import job=%s team=%s keeps %d reopened deals closed: %d rows, %d events left out",
        job.id,
        job.team.slug,
        len(reopenings.deals),
        left_out,
        reopenings.events,
    )
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
