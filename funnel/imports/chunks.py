"""Writing an import's rows in chunks, each one transaction: in the calling thread, or by two
writer threads while the calling thread converts the next rows.

An import chunk spends about half its time in Python and half waiting for PostgreSQL, so one
writer leaves a core idle. Two writers on their own connections each take the rows of half the
deals (split by a hash of the deal id, so a deal's rows stay together and in file order, and the
writers never wait for each other's deal locks) and write them in chunks, each chunk one
transaction as with one writer. Progress is added after each chunk commits.
"""

from __future__ import annotations

import queue
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import connection, connections, transaction
from django.utils import timezone

from funnel.audit.context import import_history_context
from funnel.imports.plan import PlanRow
from funnel.imports.writes import observations_record
from funnel.ingest import IngestResult, stage_events_ingest
from funnel.models import ImportJob, Origin

WRITERS = 2


def writers_usable(rows: int, chunk_rows: int) -> bool:
    """Two writers pay off for more than one chunk, on PostgreSQL, outside a transaction (each
    writer's connection must see what the caller committed)."""
    return (
        connection.vendor == "postgresql" and not connection.in_atomic_block and rows > chunk_rows
    )


def rows_by_deal(rows: Sequence[PlanRow], parts: int) -> list[list[PlanRow]]:
    """The rows split into `parts` lists by deal, each in file order."""
    out: list[list[PlanRow]] = [[] for _ in range(parts)]
    for row in rows:
        _, events, observations = row
        deal = events[0].deal_external_id if events else observations[0].deal_external_id
        out[zlib.crc32(deal.encode()) % parts].append(row)
    return out


@dataclass
class WriterTotals:
    accepted: int = 0
    duplicates: int = 0
    deals_created: int = 0
    deals_updated: int = 0
    observations: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, other: WriterTotals) -> None:
        for name in ("accepted", "duplicates", "deals_created", "deals_updated", "observations"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name, value in other.seconds.items():
            self.seconds[name] = self.seconds.get(name, 0.0) + value

    def count(self, result: IngestResult, observations: int) -> None:
        self.observations += observations
        for name in ("accepted", "duplicates", "deals_created", "deals_updated"):
            setattr(self, name, getattr(self, name) + getattr(result, name))


class ParallelWriters:
    """WRITERS threads, each with its own connection and queue of chunks. `submit` hands them
    converted rows and returns at once (unless they are two chunks behind); `close` waits for
    them and raises the first error a writer met (after which the writers skip what is left)."""

    def __init__(
        self,
        *,
        job: ImportJob,
        characteristic_ids: dict[str, int],
        chunk_rows: int,
        on_chunk: Callable[[], None] | None = None,
    ):
        self.job, self.characteristic_ids = job, characteristic_ids
        self.chunk_rows, self.on_chunk = chunk_rows, on_chunk
        self.results = [WriterTotals() for _ in range(WRITERS)]
        self.errors: list[BaseException] = []
        self.failed = threading.Event()
        self.progress = threading.Lock()
        self.queues: list[queue.Queue] = [queue.Queue(maxsize=2) for _ in range(WRITERS)]
        self.threads = [
            threading.Thread(target=self._work, args=(k,), daemon=True) for k in range(WRITERS)
        ]
        for thread in self.threads:
            thread.start()

    def submit(self, rows: Sequence[PlanRow]) -> None:
        if self.failed.is_set():
            return
        for k, part in enumerate(rows_by_deal(rows, WRITERS)):
            for start in range(0, len(part), self.chunk_rows):
                self.queues[k].put(part[start : start + self.chunk_rows])

    def close(self) -> WriterTotals:
        self._end()
        if self.errors:
            raise self.errors[0]
        total = WriterTotals()
        for result in self.results:
            total.add(result)
        return total

    def stop(self) -> None:
        """End the threads after the caller failed: chunks not yet written are dropped."""
        self.failed.set()
        self._end()

    def _end(self) -> None:
        for q in self.queues:
            q.put(None)
        for thread in self.threads:
            thread.join()

    def _attempt(self, step: Callable[..., object], *args) -> bool:
        """Run a step; on error, keep it for close() and stop every writer's writing."""
        try:
            step(*args)
        except BaseException as error:  # re-raised by close()
            self.errors.append(error)
            self.failed.set()
            return False
        return True

    def _work(self, k: int) -> None:
        job, ids, totals = self.job, self.characteristic_ids, self.results[k]
        # Each writer's thread has its own connection, so its own audit context: the job's.
        try:
            with import_history_context(job):
                self._attempt(connection.ensure_connection)  # while the first rows are converted
                while (chunk := self.queues[k].get()) is not None:
                    if self.failed.is_set():
                        continue  # drain the queue so submit never blocks
                    written = self._attempt(_chunk_write, job, chunk, ids, totals)
                    if written and self.on_chunk is not None:
                        with self.progress:
                            self.on_chunk()
        finally:
            connections.close_all()  # this thread's connection


def commit_without_waiting_for_disk() -> None:
    """A chunk's commit need not wait for its WAL to reach the disk: the job's final status is
    written with an ordinary (synchronous) commit, which flushes every earlier chunk first. A
    database crash before that loses only chunks of an unfinished job, together with their
    progress, and importing the file again adds exactly what is missing."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def chunk_write(
    *,
    job: ImportJob,
    chunk: Sequence[PlanRow],
    characteristic_ids: dict[str, int],
    lap: Callable[[str], None] = lambda part: None,
) -> tuple[IngestResult, int]:
    """One chunk's events and observations, in the caller's transaction; `lap` is told when
    each part is done. Returns the ingest result and the observations added."""
    events = [event for _, row_events, _ in chunk for event in row_events]
    result = stage_events_ingest(
        team=job.team,
        events=events,
        origin=Origin.CSV,
        by=job.uploaded_by,
        schedule_recompute=False,
        max_batch=max(1, len(events)),
    )
    lap("events")
    observations = observations_record(
        team=job.team,
        observations=[o for _, _, row_obs in chunk for o in row_obs],
        characteristic_ids=characteristic_ids,
        by=job.uploaded_by,
        new_deals=result.created_deals,
    )
    lap("observations")
    return result, observations


def _chunk_write(
    job: ImportJob, chunk: list[PlanRow], characteristic_ids: dict[str, int], into: WriterTotals
) -> None:
    clock = [time.perf_counter()]

    def lap(part: str) -> None:
        now = time.perf_counter()
        into.seconds[part] = into.seconds.get(part, 0.0) + now - clock[0]
        clock[0] = now

    with transaction.atomic():
        commit_without_waiting_for_disk()
        result, observations = chunk_write(
            job=job, chunk=chunk, characteristic_ids=characteristic_ids, lap=lap
        )
        # Last in the transaction: the two writers wait on the job's row only for a commit.
        chunk_committed(job=job, result=result, observations=observations, rows=len(chunk))
        lap("progress")
    lap("commit")
    into.count(result, observations)


def chunk_committed(
    *,
    job: ImportJob,
    result: IngestResult,
    observations: int,
    rows: int = 0,
    position: int | None = None,
) -> int:
    """In the chunk's transaction: add what it wrote to the job's `written` counts, move its
    progress (`rows` more, or up to the file `position`) and its heartbeat. Progress never goes
    back: a resumed run shows the rows an earlier attempt wrote until it passes them. Returns
    the job's processed rows."""
    locked = ImportJob.objects.select_for_update().only("processed_rows", "written").get(id=job.id)
    written = dict(locked.written or {})
    for name, value in (
        ("events_accepted", result.accepted),
        ("deals_created", result.deals_created),
        ("deals_updated", result.deals_updated),
        ("observations", observations),
    ):
        written[name] = written.get(name, 0) + value
    written["pass_rows"] = position if position is not None else written.get("pass_rows", 0) + rows
    processed = max(locked.processed_rows, written["pass_rows"])
    ImportJob.objects.filter(id=job.id).update(
        written=written, processed_rows=processed, heartbeat_at=timezone.now()
    )
    return processed
