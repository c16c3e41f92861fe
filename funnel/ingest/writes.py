"""The set-based writes behind one ingested batch: deals, events, positions and pending marks.

A batch costs a handful of statements whatever its size: lock and read the deals it names,
insert the new ones, insert the events (skipping stored ids), write the changed deals, and mark
the touched deals pending for the recompute, which derives their passages and flow counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from itertools import pairwise
from operator import itemgetter

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.utils import timezone

from funnel.bulk import copy_usable, ids_reserve, rows_copy, rows_insert, rows_update
from funnel.ingest.events import DEAL_FIELDS, DEAL_INSERT_FIELDS, POSITION_FIELDS, EventIn, _Context
from funnel.ingest.stored import ATTRIBUTE_FIELDS, stored_deals_lock, stored_event_logs
from funnel.models import Deal, DealStatus, PendingDeal, StageEvent, Team
from funnel.positions import (
    deal_position_extend,
    deal_position_from_events,
    event_rank,
    events_in_log_order,
)
from funnel.staging import staged_insert, staged_update

NO_POSITION = {
    "status": DealStatus.OPEN,
    "lost_reason": "",
    "current_stage_id": None,
    "stage_entered_at": None,
    "opened_at": None,
    "closed_at": None,
    "last_event_at": None,
}

CENT = Decimal("0.01")
assert DEAL_FIELDS == ("account", "department", "source")  # BatchWriter._attributes names them
# New deals are inserted with their position: their whole log is in the batch.
NEW_DEAL_FIELDS = (
    *DEAL_INSERT_FIELDS,
    *(f for f in POSITION_FIELDS if f not in ("status", "lost_reason")),
)
UPDATE_FIELDS = (*ATTRIBUTE_FIELDS, *POSITION_FIELDS, "updated_at")
MOVE_FIELDS = (*POSITION_FIELDS, "updated_at")
EVENT_FIELDS = (
    "team_id",
    "deal_id",
    "stage_id",
    "outcome",
    "lost_reason",
    "occurred_at",
    "recorded_at",
    "event_id",
    "origin",
    "recorded_by_id",
    "api_token_id",
)


class DealsCreatedConcurrently(Exception):
    """Another batch created some of this batch's new deals while it ran; write it again."""


def _by_time_and_order(item: tuple) -> tuple:
    return item[0], item[1]


class BatchWriter:
    """Writes one validated batch inside the caller's transaction."""

    def __init__(
        self, *, team: Team, events: Sequence[EventIn], context: _Context, copy: bool = True
    ):
        self.team = team
        # New deals may go in by COPY (PostgreSQL, large batches; their events are staged). A COPY
        # cannot skip a conflict: if another batch stored one of them first, it fails with an
        # IntegrityError and the caller writes the batch again with copy=False.
        self.copy = copy
        self.events = events
        self.context = context
        self.now = timezone.now()
        self.deals: dict[str, dict] = {}  # external id -> the deal's row as it will be written
        self.created: set[int] = set()  # ids of the deals this batch inserted
        self.changed: set[int] = set()  # ids of stored deals whose row must be written
        self.retitled: set[int] = set()  # stored deals whose attributes the batch changed
        self.marked = False  # the touched deals are marked pending
        self.robbed: set[int] = set()  # deals sent an event id that came first with another
        # Each deal's events in this batch, in the log's order (funnel.positions): by time, and
        # at one instant by the funnel's order, outcomes last; the batch order only for twins.
        self.logs: dict[str, list[tuple]] = {}
        for order, e in enumerate(events):
            self.logs.setdefault(e.deal_external_id, []).append((e.occurred_at, order, e))
        for log in self.logs.values():
            if len(log) > 1:
                log.sort(key=_by_time_and_order)
                if any(a[0] == b[0] for a, b in pairwise(log)):  # rare: ties need the ranks
                    log.sort(key=self._log_key)

    def _log_key(self, item: tuple) -> tuple:
        occurred_at, order, e = item
        stage_id = self.context.stages.get(e.stage) if e.stage else None
        rank = event_rank(stage_position=self.context.positions.get(stage_id), outcome=e.outcome)
        return occurred_at, rank, order

    # -- deals ---------------------------------------------------------------------------------

    def deals_lock_upsert(self) -> None:
        """Lock and read the stored deals the batch names; insert the new ones.

        Every writer locks a deal before adding events to it (in id order, so two batches never
        deadlock over their stored deals), so its position is read with every committed event.
        """
        self.deals = stored_deals_lock(team=self.team, external_ids=list(self.logs))
        # Sorted: two batches creating the same deals insert them in the same order, so one
        # waits for the other instead of each waiting on a deal the other inserted.
        new = sorted(ext for ext in self.logs if ext not in self.deals)
        if new and self.copy and copy_usable(len(new)):
            rows = {ext: self._new_row(ext) for ext in new}
            ids = ids_reserve(Deal, len(new))  # ascending, so in the order of the sorted ids
            for (ext, row), deal_id in zip(rows.items(), ids, strict=True):
                row["id"] = deal_id
                self.deals[ext] = row
                self.created.add(deal_id)
            values = itemgetter(*NEW_DEAL_FIELDS[2:])
            team_id = self.team.id
            rows_copy(
                Deal,
                ("id", *NEW_DEAL_FIELDS),
                [(row["id"], team_id, ext, *values(row)) for ext, row in rows.items()],
            )
        elif new:
            rows = {ext: self._new_row(ext) for ext in new}
            inserted = rows_insert(
                Deal,
                NEW_DEAL_FIELDS,
                [
                    (self.team.id, ext, *(row[name] for name in NEW_DEAL_FIELDS[2:]))
                    for ext, row in rows.items()
                ],
                conflict=("team_id", "external_id"),
                returning=("external_id", "id"),
            )
            for ext, deal_id in inserted:
                rows[ext]["id"] = deal_id
                self.deals[ext] = rows[ext]
                self.created.add(deal_id)
            if len(inserted) < len(new):
                # A concurrent batch created some of these deals first. Locking them now, out of
                # id order behind the locks already held, could deadlock with another writer
                # or the drain: start again instead (the caller rolls back and retries).
                raise DealsCreatedConcurrently()
        for ext, deal in self.deals.items():
            if deal["id"] in self.created:
                continue
            attributes = self._attributes(ext)
            if any(deal[k] != v for k, v in attributes.items()):
                deal.update(attributes)
                self.changed.add(deal["id"])
                self.retitled.add(deal["id"])

    def _attributes(self, ext: str) -> dict:
        """The attributes the batch sends for a deal; the latest event's value of each wins."""
        attributes: dict = {}
        owners = self.context.owners
        for _, _, e in self.logs[ext]:
            if e.owner_email:
                attributes["owner_id"] = owners[e.owner_email.strip().lower()]
            if e.amount is not None:
                attributes["amount"] = e.amount.quantize(CENT)
            # DEAL_FIELDS, spelled out: this runs for every deal of every batch.
            if e.account is not None:
                attributes["account"] = e.account.strip()
            if e.department is not None:
                attributes["department"] = e.department.strip()
            if e.source is not None:
                attributes["source"] = e.source.strip()
        return attributes

    def _new_row(self, ext: str) -> dict:
        row = {
            "external_id": ext,
            "owner_id": None,
            "amount": None,
            "account": "",
            "department": "",
            "source": "",
            "created_at": self.now,
            "updated_at": self.now,
        }
        row.update(self._attributes(ext))
        row.update(deal_position_from_events(self._event_rows(self._unique(self.logs[ext]))))
        return row

    @staticmethod
    def _unique(log: list[tuple]) -> list[tuple]:
        """The log without repeated event ids (the first of a repeated id in batch order)."""
        if len(log) == 1:
            return log
        first: dict[str, int] = {}
        for _, order, e in log:
            first.setdefault(e.event_id.strip(), order)
        return [item for item in log if first[item[2].event_id.strip()] == item[1]]

    def _event_rows(self, log: list[tuple]) -> list[dict]:
        stages = self.context.stages
        return [
            {
                "stage_id": stages[e.stage] if e.stage else None,
                "outcome": e.outcome or "",
                "lost_reason": e.lost_reason or "",
                "occurred_at": occurred_at,
            }
            for occurred_at, _, e in log
        ]

    # -- events --------------------------------------------------------------------------------

    def events_insert(
        self, *, origin: str, by: AbstractBaseUser | None, api_token_id: int | None = None
    ) -> list[tuple[int, str]]:
        """Insert the batch, skipping stored event ids; the (deal id, event id) pairs inserted.

        INSERT .. ON CONFLICT DO NOTHING RETURNING tells exactly which rows this transaction
        wrote, even while a concurrent replay of the same batch runs.
        """
        team_id, stages = self.team.id, self.context.stages
        by_id = by.pk if by is not None else None
        origin = str(origin)  # the plain text (an enum member takes psycopg's slower path)
        seen: dict[str, int] = {}  # event id -> the deal it came with first
        rows: list[tuple] = []
        for e in self.events:
            event_id = e.event_id.strip()
            deal_id = self.deals[e.deal_external_id]["id"]
            if event_id in seen:  # the same id twice in one batch is one event, the first
                if seen[event_id] != deal_id:
                    self.robbed.add(deal_id)  # that event is another deal's, not this one's
                continue
            seen[event_id] = deal_id
            rows.append(
                (
                    team_id,
                    deal_id,
                    stages[e.stage] if e.stage else None,
                    e.outcome or "",
                    e.lost_reason or "",
                    e.occurred_at,
                    self.now,
                    event_id,
                    origin,
                    by_id,
                    api_token_id,
                )
            )
        # On PostgreSQL all of them go in by one COPY into a staging table and one INSERT ..
        # SELECT that skips stored ids and marks the touched deals pending.
        pending = PendingDeal._meta.db_table
        postgresql = connection.vendor == "postgresql"
        self.marked = postgresql
        return (staged_insert if postgresql else rows_insert)(
            StageEvent,
            EVENT_FIELDS,
            rows,
            conflict=("team_id", "event_id"),
            returning=("deal_id", "event_id"),
            then=(
                f"INSERT INTO {pending} (deal_id, team_id) SELECT DISTINCT deal_id, {team_id:d} "
                "FROM inserted ORDER BY 1 ON CONFLICT (deal_id) DO NOTHING"
            ),
        )

    # -- positions -----------------------------------------------------------------------------

    def positions_apply(self, inserted: list[tuple[int, str]]) -> set[int]:
        """Bring the touched deals' positions up to date and write every changed deal.

        A stored deal whose new events all sort after its log extends its position; one with an
        event arriving out of order is re-derived from its whole log. Returns the touched ids.
        """
        accepted = set(inserted)  # (deal id, event id): an id belongs to one deal
        touched = {deal_id for deal_id, _ in inserted}
        reread: list[int] = []
        by_id = {deal["id"]: (ext, deal) for ext, deal in self.deals.items()}
        for deal_id in touched:
            ext, deal = by_id[deal_id]
            unique = self._unique(self.logs[ext])
            log = [item for item in unique if (deal_id, item[2].event_id.strip()) in accepted]
            if deal_id in self.created:
                if len(log) < len(unique):
                    # Some of its events carried ids stored (or sent first) for other deals.
                    deal.update(deal_position_from_events(self._event_rows(log)))
                    self.changed.add(deal_id)
                continue
            last = deal["last_event_at"]
            # Strictly after: an event at the very instant of the log's last may sort before it.
            if last is not None and log[0][0] > last:
                deal.update(deal_position_extend(deal, self._event_rows(log)))
            else:
                reread.append(deal_id)
            self.changed.add(deal_id)
        for deal_id in self.created - touched:
            # Every event it came with carried an id already stored for another deal.
            by_id[deal_id][1].update(NO_POSITION)
            self.changed.add(deal_id)
        if reread:
            for deal_id, events in stored_event_logs(reread).items():
                events = events_in_log_order(events, self.context.positions)
                by_id[deal_id][1].update(deal_position_from_events(events))
        if connection.vendor == "postgresql":
            # One COPY and one UPDATE for all of them, binary: no document to build or parse.
            staged_update(Deal, UPDATE_FIELDS, self._update_rows(UPDATE_FIELDS, self.changed))
            return touched
        # Most deals only move: their update carries the position alone; the few with new
        # attributes get a second statement.
        for fields, ids in (
            (MOVE_FIELDS, self.changed - self.retitled),
            (UPDATE_FIELDS, self.retitled),
        ):
            rows_update(Deal, fields, self._update_rows(fields, ids))
        return touched

    def _update_rows(self, fields: Sequence[str], ids: set[int]) -> list[tuple]:
        """(*fields' values, updated_at, id) of these deals in id order; `fields` ends with
        updated_at."""
        by_id = {deal["id"]: deal for deal in self.deals.values()}
        values = itemgetter(*fields[:-1])
        return [(*values(by_id[deal_id]), self.now, deal_id) for deal_id in sorted(ids)]

    def pending_mark(self, deal_ids: set[int]) -> None:
        """Mark the deals for the recompute: it derives their passages and flow counts."""
        if self.marked:
            return  # done with the events' insert
        rows_insert(
            PendingDeal,
            ("deal_id", "team_id"),
            [(deal_id, self.team.id) for deal_id in sorted(deal_ids)],
            conflict=("deal_id",),
        )


__all__ = ["BatchWriter", "DealsCreatedConcurrently"]
