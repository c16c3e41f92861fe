"""A file's problems as a person reads them: identical problems grouped ("'O_CANCELLED' has no
stage: 3,457 rows, first rows 12, 40, 77"), and the rows an import skipped as a CSV file with
the reason per row. Pure functions over plain values."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from funnel.imports.parsing import CsvTable
from funnel.imports.plan import RowError

FIRST_ROWS = 3


def problems_grouped(errors: Iterable[RowError], *, keep_rows: int | None = FIRST_ROWS) -> list:
    """[{column, message, count, rows}], the most frequent first (then by first row); `rows`
    holds the first `keep_rows` row numbers (all of them for None)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for e in errors:
        groups.setdefault((e.column, e.message), []).append(e.row)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), min(item[1])))
    return [
        {
            "column": column,
            "message": message,
            "count": len(rows),
            "rows": sorted(rows)[:keep_rows] if keep_rows is not None else sorted(rows),
        }
        for (column, message), rows in ordered
    ]


def problem_text(group: dict) -> str:
    """ "'O_CANCELLED' has no stage: 3,457 rows, first rows 12, 40, 77"."""
    count, rows = group["count"], group["rows"][:FIRST_ROWS]
    message = group["message"].rstrip(".")
    if count == 1:
        return f"{message}: row {rows[0]:,}"
    first = ", ".join(f"{r:,}" for r in rows)
    return f"{message}: {count:,} rows, first rows {first}"


def rows_with_problems(errors: Iterable[RowError]) -> set[int]:
    """The data rows with a problem (the header's, row 1, is the mapping's)."""
    return {e.row for e in errors if e.row > 1}


def skipped_rows_csv(table: CsvTable, groups: list[dict]) -> str:
    """The skipped rows as they were in the file, with their row number and reasons first."""
    reasons: dict[int, list[str]] = {}
    for group in groups:
        label = f"{group['column']}: {group['message']}" if group["column"] else group["message"]
        for row in group["rows"]:
            reasons.setdefault(row, []).append(label)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Row", "Problem", *table.header])
    cells_by_row = dict(table.rows)
    for row in sorted(reasons):
        writer.writerow([row, " | ".join(reasons[row]), *cells_by_row.get(row, [])])
    return out.getvalue()
