"""Deals a file reopens after they were closed, found before anything is written.

A deal's events are read in the log's one order (funnel.positions: by time, and at one instant
the stages in the funnel's order, then lost, then won), never in file order. The deal reopens
when an outcome is followed by a stage event or by the other outcome: the ingest would then
make it open again (or flip it), as the log says. A deal already closed in the database counts
its stored close as its first outcome, so a file that adds a later stage event reopens it too.
The same outcome again is not a reopening (the close only moves later).

The manager decides what happens to them (ImportJob.on_reopen): reopen them, which writes every
row as the ingest always does, or keep them closed, which leaves out each such deal's events from
the first one that would reopen it; a row left with no event is not written at all.

Pure computation over plain values; the caller reads the stored closes (selectors).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from funnel.imports.plan import PlanRow
from funnel.positions import event_rank

SHOWN_DEALS = 20  # deals a warning names; the rest are counted
SHOWN_ROWS = 5  # rows named for each deal; the rest are counted


@dataclass(frozen=True, slots=True)
class StoredClose:
    """A deal closed in the database: its outcome and when it closed."""

    outcome: str
    closed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ReopenedDeal:
    deal: str
    outcome: str  # of the close it reopens after
    closed_at: dt.datetime
    closed_row: int | None  # the file's row of that close; None: closed in the database
    rows: tuple[int, ...]  # the rows from the first reopening event on, ascending


@dataclass(slots=True)
class Reopenings:
    deals: list[ReopenedDeal] = field(default_factory=list)
    # Row number -> the indexes of its events that come after a close (what keeping the deals
    # closed leaves out).
    after_close: dict[int, set[int]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(self.after_close)

    @property
    def events(self) -> int:
        return sum(len(indexes) for indexes in self.after_close.values())

    def summary(self) -> dict:
        """What the job keeps for the page: counts, and the first deals with their rows."""
        return {
            "deals": len(self.deals),
            "rows": self.rows,
            "events": self.events,
            "shown": [
                {
                    "deal": d.deal,
                    "outcome": d.outcome,
                    "closed_at": d.closed_at.isoformat(),
                    "closed_row": d.closed_row,
                    "rows": list(d.rows[:SHOWN_ROWS]),
                    "more_rows": max(0, len(d.rows) - SHOWN_ROWS),
                }
                for d in self.deals[:SHOWN_DEALS]
            ],
        }


def plan_deal_ids(rows: Iterable[PlanRow]) -> set[str]:
    """The deals the rows name."""
    return {e.deal_external_id for _, events, _ in rows for e in events}


def plan_reopenings(
    rows: Sequence[PlanRow],
    *,
    stage_order: Mapping[str, int],
    stored: Mapping[str, StoredClose],
) -> Reopenings:
    """The deals the rows reopen after a close, in the order their first row comes in the file.

    `stage_order`: the team's stage slugs -> their place in the funnel; `stored`: the deals of
    the file that are closed in the database."""
    found: list[tuple[int, ReopenedDeal]] = []
    after_close: dict[int, set[int]] = {}
    for deal, deal_rows in _rows_by_deal(rows).items():
        close = stored.get(deal)
        if close is None and not _may_reopen(deal_rows):
            continue
        log = _deal_log(deal_rows, stage_order, close)
        reopened = _first_reopening(log)
        if reopened is None:
            continue
        k, closing = reopened
        later = [(number, index) for _, _, _, number, index, _ in log[k:] if number is not None]
        for number, index in later:
            after_close.setdefault(number, set()).add(index)
        deal_reopened = ReopenedDeal(
            deal=deal,
            outcome=closing[5],
            closed_at=closing[0],
            closed_row=closing[3],
            rows=tuple(sorted({number for number, _ in later})),
        )
        found.append((deal_rows[0][0], deal_reopened))
    found.sort(key=lambda item: item[0])
    return Reopenings(deals=[d for _, d in found], after_close=after_close)


def _rows_by_deal(rows: Sequence[PlanRow]) -> dict[str, list[PlanRow]]:
    """Each deal's rows, in file order (a row's events are all the same deal's)."""
    by_deal: dict[str, list[PlanRow]] = {}
    for row in rows:
        if not row[1]:
            continue
        deal = row[1][0].deal_external_id
        deal_rows = by_deal.get(deal)
        if deal_rows is None:
            by_deal[deal] = [row]
        else:
            deal_rows.append(row)
    return by_deal


def _may_reopen(deal_rows: list[PlanRow]) -> bool:
    """Whether the rows alone might reopen the deal: a cheap test that lets most deals through
    unsorted. One row never does (a deal row's outcome comes at or after its dates, and at one
    instant stages sort before it); nor do rows with one outcome and no event later in time."""
    if len(deal_rows) == 1:
        return False
    outcomes = {e.outcome for _, events, _ in deal_rows for e in events if e.outcome}
    if not outcomes:
        return False
    if len(outcomes) > 1:
        return True
    first_close = min(e.occurred_at for _, events, _ in deal_rows for e in events if e.outcome)
    return any(e.occurred_at > first_close for _, events, _ in deal_rows for e in events)


def _deal_log(
    deal_rows: list[PlanRow], stage_order: Mapping[str, int], close: StoredClose | None
) -> list[tuple]:
    """The deal's events in the log's order: (time, rank, file order, row, event index, outcome).
    File order breaks ties between identical events; a stored close (row None) comes first
    among its twins."""
    log = []
    if close is not None:
        rank = event_rank(stage_position=None, outcome=close.outcome)
        log.append((close.closed_at, rank, -1, None, None, close.outcome))
    order = 0
    for number, events, _ in deal_rows:
        for index, e in enumerate(events):
            rank = event_rank(stage_position=stage_order.get(e.stage or ""), outcome=e.outcome)
            log.append((e.occurred_at, rank, order, number, index, e.outcome or ""))
            order += 1
    log.sort(key=lambda item: item[:3])
    return log


def _first_reopening(log: list[tuple]) -> tuple[int, tuple] | None:
    """(index of the first event that reopens the deal, the close it follows), or None."""
    close = None
    for k, item in enumerate(log):
        outcome, from_file = item[5], item[3] is not None
        if close is not None and from_file and outcome != close[5]:
            return k, close  # a stage event ("" outcome) or the other outcome
        if outcome:
            close = item
    return None


def rows_kept_closed(
    rows: Sequence[PlanRow], after_close: Mapping[int, set[int]]
) -> tuple[list[PlanRow], int]:
    """The rows without the events that come after a close; a row left with no event is left
    out whole (with its observations). Returns the rows to write and how many were left out."""
    if not after_close:
        return list(rows), 0
    kept: list[PlanRow] = []
    left_out = 0
    for number, events, observations in rows:
        indexes = after_close.get(number)
        if indexes is None:
            kept.append((number, events, observations))
            continue
        remaining = [e for i, e in enumerate(events) if i not in indexes]
        if remaining:
            kept.append((number, remaining, observations))
        else:
            left_out += 1
    return kept, left_out
