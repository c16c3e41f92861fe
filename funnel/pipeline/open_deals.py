"""The open deals as a run reads them: how long each has waited in its stage (the aged WIP),
and how many the rates left out or the stale rule counted as lost.

In PostgreSQL a worker keeps every open deal of the teams it runs (`OpenDeals`, with the other
kept inputs of funnel.pipeline.touched) and a run re-reads only the deals written since the
last one: statement triggers on the deal table mark each deal any write inserts, updates or
deletes (funnel.models.DealChanged), and the run takes the marks in its own transaction. A run
without kept deals (a worker's first, another process ran the team) reads them all and clears
the marks. Either way the figures are those of one scan of the open deals as of now.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from django.db import connection

from funnel.bulk import ids_array
from funnel.metrics.stale import StaleCut
from funnel.models import Deal, DealChanged, DealStatus, Team
from funnel.pipeline.stale import open_deals_counted, open_deals_figures

NO_TIME = np.iinfo(np.int64).min  # a time the row does not have (NULL)
MICROSECONDS_PER_DAY = 86_400_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Each open deal as four int8 columns, none NULL: its id, stage (0 for none), the times it
# entered that stage and of its last event (microseconds since 1970, NO_TIME for none).
_COLUMNS = (
    "d.id, COALESCE(d.current_stage_id, 0), "
    f"COALESCE((extract(epoch FROM d.stage_entered_at) * 1000000)::int8, {NO_TIME}), "
    f"COALESCE((extract(epoch FROM d.last_event_at) * 1000000)::int8, {NO_TIME})"
)
# A binary COPY row of those columns: a field count, then per field a length and the value.
_ROW = np.dtype(
    [("n", ">i2")]
    + [
        (f"{name}{part}", kind)
        for name in ("id", "stage", "entered", "last")
        for part, kind in (("_len", ">i4"), ("", ">i8"))
    ]
)
_COPY_HEADER = 19  # PGCOPY signature, flags, header extension length


@dataclass
class OpenDeals:
    """A team's open deals, column-wise: ids, stage ids (0: none) and the two times (NO_TIME:
    none), in no particular order."""

    ids: np.ndarray
    stage: np.ndarray
    entered: np.ndarray
    last: np.ndarray

    @classmethod
    def of_rows(cls, rows: np.ndarray) -> OpenDeals:
        return cls(
            *(
                np.ascontiguousarray(rows[name], dtype=np.int64)
                for name in ("id", "stage", "entered", "last")
            )
        )

    def replaced(self, changed: np.ndarray, rows: np.ndarray) -> OpenDeals:
        """Without the `changed` deals, then with those of them still open (`rows`)."""
        keep = ~np.isin(self.ids, changed)
        fresh = OpenDeals.of_rows(rows)
        return OpenDeals(
            *(
                np.concatenate([getattr(self, name)[keep], getattr(fresh, name)])
                for name in ("ids", "stage", "entered", "last")
            )
        )

    def figures(
        self, now: dt.datetime, cut: StaleCut | None
    ) -> tuple[dict[int, np.ndarray], int, int]:
        """Whole days each counted open deal has waited in its stage, by stage id, as the scan
        computes them; how many are open; how many the stale rule counts as lost."""
        counted = np.ones(self.ids.size, dtype=bool)
        stale = 0
        if cut is not None:
            before = _microseconds(cut.cutoff)
            known = self.last != NO_TIME  # NO_TIME is before any cut: neither counted nor stale
            counted = self.last >= before
            stale = int(np.count_nonzero(known & (self.last < before)))
        counted &= self.stage != 0
        stage, entered = self.stage[counted], self.entered[counted]
        now_us = _microseconds(now)  # a deal with no time of entry waited 0 days
        days = (now_us - np.where(entered == NO_TIME, now_us, entered)) // MICROSECONDS_PER_DAY
        ages = np.maximum(days, 0).astype(float)
        return (
            {stage_id: ages[stage == stage_id] for stage_id in _distinct(stage)},
            int(self.ids.size),
            stale,
        )


def _distinct(values: np.ndarray) -> list[int]:
    """The distinct values of a few small ids (a team's stages), without sorting them all."""
    if not values.size:
        return []
    low, high = int(values.min()), int(values.max())
    if high - low > 1_000_000:
        return [int(v) for v in np.unique(values)]
    return [low + int(i) for i in np.flatnonzero(np.bincount(values - low))]


def _microseconds(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


def open_deals_read(
    team: Team, now: dt.datetime, cut: StaleCut | None, kept: OpenDeals | None = None
) -> tuple[dict[int, np.ndarray], dict, OpenDeals | None]:
    """The open deals' ages (`_open_ages`) and the figures of how many the rates left out or
    the stale rule counted as lost (`open_deals_figures`), and in PostgreSQL the open deals to
    keep for the next run: `kept` brought up to date by the deals marked since, or all read."""
    if connection.vendor != "postgresql":
        ages = _open_ages(team, now, cut.cutoff if cut else None)
        return ages, open_deals_figures(team=team, cut=cut), None
    deals = _open_deals_all(team) if kept is None else _open_deals_since(team, kept)
    ages, total, stale = deals.figures(now, cut)
    return ages, open_deals_counted(total=total, stale=stale, cut=cut), deals


def _open_deals_all(team: Team) -> OpenDeals:
    """Every open deal of the team, read by one binary COPY, after clearing the team's marks
    (a write committed after the clearing is read here too, and again by the next run)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DealChanged._meta.db_table} WHERE team_id = %s", [team.id])
        data = bytearray()
        query = (
            f"COPY (SELECT {_COLUMNS} FROM {Deal._meta.db_table} AS d "
            f"WHERE d.team_id = {int(team.id)} AND d.status = '{DealStatus.OPEN}') "
            "TO STDOUT (FORMAT BINARY)"
        )
        with cursor.cursor.copy(query) as copy:
            for block in copy:
                data += block
    count, extra = divmod(len(data) - _COPY_HEADER - 2, _ROW.itemsize)
    rows = np.frombuffer(data, dtype=_ROW, offset=_COPY_HEADER, count=count)
    if extra or (rows["n"] != 4).any() or data[:11] != b"PGCOPY\n\xff\r\n\0":
        raise ValueError("the open deals' COPY is not the expected binary rows")
    return OpenDeals.of_rows(rows)


def _open_deals_since(team: Team, kept: OpenDeals) -> OpenDeals:
    """`kept` with the deals marked since it was read taken out, and read again if open. A
    write committed between the two statements leaves its marks for the next run, which reads
    its deals again (reading a deal twice changes nothing)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH marks AS (DELETE FROM {DealChanged._meta.db_table} WHERE team_id = %s "
            "RETURNING deal_ids) SELECT DISTINCT jsonb_array_elements(deal_ids)::int8 FROM marks",
            [team.id],
        )
        changed = np.fromiter((i for (i,) in cursor.fetchall()), dtype=np.int64)
        if not changed.size:
            return kept
        cursor.execute(
            f"SELECT {_COLUMNS} FROM {Deal._meta.db_table} AS d "
            "WHERE d.id = ANY(%s::int8[]) AND d.team_id = %s AND d.status = %s",
            [ids_array(changed.tolist()), team.id, DealStatus.OPEN],
        )
        rows = np.array(
            cursor.fetchall(), dtype=[(n, np.int64) for n in ("id", "stage", "entered", "last")]
        )
    return kept.replaced(changed, rows)


def _open_ages(team: Team, now: dt.datetime, stale_before=None) -> dict[int, np.ndarray]:
    """Whole days each open deal has been in its current stage, by stage id; without the deals
    the stale rule counts as lost (last event before `stale_before`). SQLite's path."""
    return _ages_of(_open_age_counts_orm(team, now, stale_before))


def _ages_of(ages: AgeCounts) -> dict[int, np.ndarray]:
    hist: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for (stage_id, days), count in ages:
        hist[stage_id].append((max(0.0, float(days or 0)), count))
    return {
        stage_id: np.repeat([d for d, _ in cells], [c for _, c in cells]).astype(float)
        for stage_id, cells in hist.items()
    }


AgeCounts = list[tuple[tuple[int, float | None], int]]  # ((stage id, whole days), open deals)


def _open_age_counts_orm(team: Team, now: dt.datetime, stale_before=None) -> AgeCounts:
    deals = Deal.objects.filter(team=team, status=DealStatus.OPEN, current_stage__isnull=False)
    if stale_before is not None:
        deals = deals.filter(last_event_at__gte=stale_before)
    deals = deals.values_list("current_stage_id", "stage_entered_at")
    ages = Counter(
        (stage_id, (now - entered).total_seconds() // 86400 if entered else None)
        for stage_id, entered in deals
    )
    return list(ages.items())
