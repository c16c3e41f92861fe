"""Large generated funnels loaded straight into PostgreSQL, for the recompute benchmark.

The ingestion service derives passages deal by deal; a million deals that way take the better
part of an hour. Here the generated funnel (bench.synthetic, columnar numpy arrays) is turned
into Deal, StageEvent and DealPassage rows with vectorised arithmetic and streamed with COPY.
The rows are exactly what the ingestion service would have derived (the generator's deals visit
the stages in order), so incremental batches applied afterwards see a consistent state.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pgtrigger
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from bench.synthetic import LOST, OPEN, GeneratedFunnel
from funnel.ingest import EventIn
from funnel.ingest.writes import EVENT_FIELDS
from funnel.models import (
    BottleneckStatus,
    Deal,
    DealPassage,
    Observation,
    StageEvent,
    StageFlow,
    StageMetric,
    Team,
)

CHUNK = 200_000
COPY_SECONDS: dict[str, float] = {}  # the last load's COPY time per table


@dataclass(frozen=True)
class LoadedFunnel:
    deals: int
    events: int
    passages: int
    # Open deals as (external id, index of the stage they are in), for realistic next events.
    open_deals: list[tuple[str, int]]


def _timestamps(micros: np.ndarray) -> np.ndarray:
    """ISO 8601 text in UTC, as COPY reads it."""
    text = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
    return np.char.add(text, "+00")


def _copy(cursor, table: str, columns: tuple[str, ...], rows: Iterator[str]) -> None:
    started = time.perf_counter()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for block in rows:
            copy.write(block)
    COPY_SECONDS[table] = time.perf_counter() - started


def _blocks(n: int, line) -> Iterator[str]:
    """The COPY text of rows 0..n-1, a chunk at a time (line(start, stop) -> list of lines)."""
    for start in range(0, n, CHUNK):
        yield "".join(line(start, min(n, start + CHUNK)))


def funnel_copy(
    *, team: Team, generated: GeneratedFunnel, now: dt.datetime, prefix: str = "b"
) -> LoadedFunnel:
    """COPY the generated deals, their events and passages into the team (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        raise RuntimeError("funnel_copy needs PostgreSQL (COPY).")
    stage_ids = dict(team.stages.values_list("slug", "id"))
    stage_id = np.array([stage_ids[slug] for slug in generated.shape.stage_slugs], dtype=np.int64)
    n_deals, n_events = generated.deals, len(generated)
    deal, stage, outcome = generated.deal, generated.stage, generated.outcome
    # Microseconds, the database's resolution: passages then match their events exactly.
    at = np.round(generated.at * 1e6).astype(np.int64)
    at_text = _timestamps(at)
    now_text = now.astimezone(dt.UTC).isoformat()

    # Ids zero-padded, so they sort in the order they are written: the unique indexes on them
    # grow at their right edge instead of splitting pages all over.
    # Per deal: first and last event (events are sorted by deal, then time).
    starts = np.flatnonzero(np.r_[True, deal[1:] != deal[:-1]])
    ends = np.r_[starts[1:], n_events] - 1
    closed = outcome[ends] != OPEN
    last_stage_event = np.where(closed, ends - 1, ends)  # generated deals never skip stages
    status = np.array(["open", "won", "lost"])[outcome[ends]]

    # Per event: the next event of the same deal decides the passage through this stage.
    has_next = np.r_[deal[1:] == deal[:-1], False]
    next_index = np.minimum(np.arange(n_events) + 1, n_events - 1)
    next_lost = has_next & (outcome[next_index] == LOST)
    result = np.where(has_next, np.where(next_lost, "lost", "advanced"), "open")
    left_text = np.where(has_next, at_text[next_index], "\\N")
    step = np.arange(n_events) - np.repeat(starts, ends - starts + 1)

    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg cursor under Django's wrapper
        # The rows are consistent by construction; skipping the per-row foreign-key triggers
        # makes the load several times faster. Local to this transaction.
        cursor.execute("SET LOCAL session_replication_role = replica")
        sequence = "pg_get_serial_sequence(%s, 'id')"
        cursor.execute(f"SELECT nextval({sequence})", [Deal._meta.db_table])
        first_id = cursor.fetchone()[0]
        cursor.execute(f"SELECT setval({sequence}, %s)", [Deal._meta.db_table, first_id + n_deals])
        deal_id = first_id + np.arange(n_deals, dtype=np.int64)
        event_deal = deal_id[deal]

        current = stage_id[stage[last_stage_event]].tolist()
        entered, opened = at_text[last_stage_event].tolist(), at_text[starts].tolist()
        closed_text = np.where(closed, at_text[ends], "\\N").tolist()
        last_text = at_text[ends].tolist()
        status_list, ids = status.tolist(), deal_id.tolist()

        def deal_lines(a: int, b: int) -> list[str]:
            return [
                f"{ids[i]}\t{team.id}\t{prefix}-{i:07d}\t\t\t\t{status_list[i]}\t\t{current[i]}\t"
                f"{entered[i]}\t{opened[i]}\t{closed_text[i]}\t{last_text[i]}\t{now_text}\t"
                f"{now_text}\n"
                for i in range(a, b)
            ]

        _copy(
            cursor,
            Deal._meta.db_table,
            (
                "id",
                "team_id",
                "external_id",
                "account",
                "department",
                "source",
                "status",
                "lost_reason",
                "current_stage_id",
                "stage_entered_at",
                "opened_at",
                "closed_at",
                "last_event_at",
                "created_at",
                "updated_at",
            ),  # fmt: skip
            _blocks(n_deals, deal_lines),
        )

        event_stage = np.where(stage >= 0, stage_id[np.maximum(stage, 0)], -1).tolist()
        event_outcome = np.array(["", "won", "lost"])[outcome].tolist()
        ev_deal, ev_text = event_deal.tolist(), at_text.tolist()
        ev_local, ev_step = deal.tolist(), step.tolist()

        def event_lines(a: int, b: int) -> list[str]:
            return [
                f"{team.id}\t{ev_deal[i]}\t{event_stage[i] if event_stage[i] >= 0 else '\\N'}\t"
                f"{event_outcome[i]}\t\t{ev_text[i]}\t{now_text}\t"
                f"{prefix}-{ev_local[i]:07d}-{ev_step[i]}\tseed\n"
                for i in range(a, b)
            ]

        _copy(
            cursor,
            StageEvent._meta.db_table,
            EVENT_FIELDS[:-2],  # all but recorded_by_id and api_token_id
            _blocks(n_events, event_lines),
        )

        is_stage = np.flatnonzero(stage >= 0)
        p_deal = event_deal[is_stage].tolist()
        p_stage = stage_id[stage[is_stage]].tolist()
        p_entered = at_text[is_stage].tolist()
        p_left = left_text[is_stage].tolist()
        p_result = result[is_stage].tolist()

        def passage_lines(a: int, b: int) -> list[str]:
            return [
                f"{team.id}\t{p_deal[i]}\t{p_stage[i]}\t{p_entered[i]}\t{p_left[i]}\t"
                f"{p_result[i]}\tf\n"
                for i in range(a, b)
            ]

        _copy(
            cursor,
            DealPassage._meta.db_table,
            ("team_id", "deal_id", "stage_id", "entered_at", "left_at", "result", "skipped"),
            _blocks(is_stage.size, passage_lines),
        )

    open_index = np.flatnonzero(~closed)
    open_deals = list(
        zip(
            [f"{prefix}-{i:07d}" for i in open_index.tolist()],
            stage[last_stage_event[open_index]].tolist(),
            strict=True,
        )
    )
    return LoadedFunnel(
        deals=n_deals, events=n_events, passages=int(is_stage.size), open_deals=open_deals
    )


def tables_analyze() -> None:
    """Fresh statistics and visibility maps, as a long-running database would have."""
    with connection.cursor() as cursor:
        for model in (Deal, StageEvent, DealPassage, StageFlow, StageMetric):
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")


class BatchMaker:
    """Realistic 1,000-event batches: new deals entering the first stage, and open deals of the
    loaded funnel moving to their next stage, won from the last one, or lost."""

    def __init__(
        self,
        *,
        open_deals: list[tuple[str, int]],
        stage_slugs: tuple[str, ...],
        seed: int = 11,
        new_share: float = 0.3,
        lost_share: float = 0.2,
    ):
        self.rng = random.Random(seed)
        self.open_deals = list(open_deals)
        self.rng.shuffle(self.open_deals)
        self.slugs = stage_slugs
        self.new_share, self.lost_share = new_share, lost_share
        self.made = 0

    def batch(self, size: int = 1000) -> list[EventIn]:
        now = dt.datetime.now(dt.UTC)
        events = []
        for _ in range(size):
            self.made += 1
            n = self.made
            occurred_at = now - dt.timedelta(seconds=self.rng.uniform(0, 600))
            if self.rng.random() < self.new_share or not self.open_deals:
                events.append(
                    EventIn(
                        event_id=f"inc-{n}",
                        deal_external_id=f"new-{n}",
                        occurred_at=occurred_at,
                        stage=self.slugs[0],
                        source="Webinar",
                    )
                )
                continue
            ext, stage = self.open_deals.pop()
            if self.rng.random() < self.lost_share:
                move = {"outcome": "lost", "lost_reason": "No budget"}
            elif stage + 1 < len(self.slugs):
                move = {"stage": self.slugs[stage + 1]}
            else:
                move = {"outcome": "won"}
            events.append(
                EventIn(
                    event_id=f"inc-{n}",
                    deal_external_id=ext,
                    occurred_at=occurred_at,
                    **move,
                )
            )
        return events


# The event log is append-only in PostgreSQL (a trigger); clearing a benchmark's data deletes
# from it as deleting a team does.
def event_log_deletes():
    return pgtrigger.ignore("funnel.StageEvent:stage_event_no_delete")


def team_bench_delete(team: Team) -> None:
    """Remove a benchmark team with set-based deletes (the logs are append-only in the ORM and
    stages are protected by the events that name them)."""
    users = list(team.memberships.values_list("user_id", flat=True))
    with transaction.atomic(), event_log_deletes(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Observation._meta.db_table} WHERE deal_id IN "
            f"(SELECT id FROM {Deal._meta.db_table} WHERE team_id = %s)",
            [team.id],
        )
        for model in (
            StageEvent,
            DealPassage,
            StageFlow,
            StageMetric,
            BottleneckStatus,
            Deal,
        ):
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE team_id = %s", [team.id])
        team.delete()
        get_user_model().objects.filter(id__in=users, memberships__isnull=True).delete()


def deals_delete(where: str, params: list, *, analyze: bool = False) -> None:
    """Delete the deals `where` picks (a condition on the deal table) and every row that refers
    to them, set-based (the logs are append-only in the ORM); then, on PostgreSQL outside a
    transaction, vacuum those tables: autovacuum is off on the development machines, and the
    dead rows slowed every later run (3.6 million dead deal rows after a dozen API runs)."""
    deal_table = Deal._meta.db_table
    deals = f"SELECT id FROM {deal_table} WHERE {where}"
    referring = [
        (model._meta.db_table, field.column)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is Deal
    ]
    with transaction.atomic(), event_log_deletes(), connection.cursor() as cursor:
        for table, column in referring:
            cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({deals})", params)
        cursor.execute(f"DELETE FROM {deal_table} WHERE {where}", params)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        tables = ", ".join(sorted({deal_table, *(table for table, _ in referring)}))
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM {'(ANALYZE) ' if analyze else ''}{tables}")


__all__ = [
    "BatchMaker",
    "LoadedFunnel",
    "deals_delete",
    "funnel_copy",
    "tables_analyze",
    "event_log_deletes",
    "team_bench_delete",
]
