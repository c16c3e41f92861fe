"""Asking for recomputes: the one on-commit helper every write path calls, the debounce, and
the sweeper that finds teams a lost message left behind.

Debounced per team through RecomputeState.queued: a write enqueues a run only when none is
waiting; the run clears the flag as it starts, so writes during a run enqueue exactly one
trailing run. The company roll-up is debounced the same way (CompanyRecomputeState). Broker
messages are hints: `teams_sweep` re-enqueues any team that is behind (a lost message, a killed
worker, a broker that was down when the write committed).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from funnel.models import CompanyRecomputeState, PendingDeal, RecomputeState, StageEvent, Team
from funnel.pipeline.queue import (
    COMPANY_RECOMPUTE,
    TEAM_REBUILD,
    TEAM_RECOMPUTE,
    task_enqueue,
)

logger = logging.getLogger(__name__)

# When is a waiting request lost (see teams_sweep)? With no message left in the queue, once
# it is this old: time enough for a worker to take a message it was just sent.
LOST_AFTER = dt.timedelta(seconds=5)
# Behind a queue of messages (a busy worker, a burst), or when the queue cannot be read: only
# once it has waited this long without its run starting.
STALE_REQUEST = dt.timedelta(minutes=2)
# Team runs finishing within this window share one company roll-up.
COMPANY_DEBOUNCE_SECONDS = 5


def team_last_event_id(*, team_id: int) -> int:
    last = (
        StageEvent.objects.filter(team_id=team_id).order_by("-id").values_list("id", flat=True)
    ).first()
    return last or 0


def team_recompute_on_commit(*, team_id: int) -> None:
    """Every write path calls this inside its transaction: once it commits, the team's
    figures are recomputed (one queued run, whatever the number of writes)."""
    transaction.on_commit(lambda: _request_after_commit(team_id))


def _request_after_commit(team_id: int) -> None:
    # The write is committed whatever happens here: a broker that is down must not turn saved
    # work into an error. The sweeper finds the team behind its watermark and runs it later.
    try:
        team_recompute_request(team_id=team_id)
    except Exception:
        logger.exception("recompute request for team %s not sent; the sweeper will retry", team_id)


def team_rebuild_on_commit(*, team_id: int) -> None:
    """After a write that removes history (the derived counts cannot be updated by delta),
    rebuild the team from its log. A broker that is down marks the team, and the next sweep
    (a minute at most) sends the rebuild."""

    def send() -> None:
        try:
            task_enqueue(TEAM_REBUILD, team_id)
        except Exception:
            logger.exception("rebuild for team %s not sent; the next sweep sends it", team_id)
            RecomputeState.objects.update_or_create(
                team_id=team_id, defaults={"rebuild_wanted": True}
            )

    transaction.on_commit(send)


def _rebuild_send(team_id: int) -> bool:
    """The sweep's half of team_rebuild_on_commit: send a rebuild the broker refused earlier."""
    try:
        task_enqueue(TEAM_REBUILD, team_id)
    except Exception:
        logger.exception("sweep: team %s wants a rebuild but the broker refused it", team_id)
        return False
    RecomputeState.objects.filter(team_id=team_id).update(rebuild_wanted=False)
    logger.info("sweep: sent the rebuild team %s asked for while the broker was down", team_id)
    return True


def team_recompute_request(*, team_id: int) -> bool:
    """Enqueue a recompute for the team unless one is already waiting. True if enqueued."""
    # Most writes find a run already waiting: a plain read says so without the update's row
    # lock (whose commit must reach the disk). Safe: that run starts after its flag is cleared,
    # which this read did not see yet, so after this write committed, and includes it.
    if RecomputeState.objects.filter(team_id=team_id, queued=True).exists():
        return False
    now = timezone.now()
    claimed = RecomputeState.objects.filter(team_id=team_id, queued=False).update(
        queued=True, requested_at=now
    )
    if not claimed:
        _, claimed = RecomputeState.objects.get_or_create(
            team_id=team_id, defaults={"queued": True, "requested_at": now}
        )
    if claimed:
        try:
            task_enqueue(TEAM_RECOMPUTE, team_id)
        except Exception:
            # The broker refused: no run is waiting after all. Clearing the flag lets the next
            # sweep (a minute at most) enqueue it, instead of waiting out STALE_REQUEST.
            RecomputeState.objects.filter(team_id=team_id).update(queued=False)
            raise
    return bool(claimed)


def team_recompute_started(*, team_id: int) -> None:
    """A run starts: writes from here on enqueue exactly one trailing run."""
    RecomputeState.objects.filter(team_id=team_id).update(queued=False)


def company_recompute_request() -> bool:
    """Ask for the company roll-up after a team run; one queued roll-up covers them all.

    A request that has waited past STALE_REQUEST is taken as lost (a flushed or restarted
    broker): the next team run, or the sweep, asks again. A broker that refuses the message
    clears the flag, so the next ask sends it; the team run that asked is not failed for it."""
    now = timezone.now()
    lost = Q(queued=True, requested_at__lt=now - STALE_REQUEST)
    claimed = CompanyRecomputeState.objects.filter(Q(queued=False) | lost, id=1).update(
        queued=True, requested_at=now
    )
    if not claimed:
        _, claimed = CompanyRecomputeState.objects.get_or_create(
            id=1, defaults={"queued": True, "requested_at": now}
        )
    if claimed:
        try:
            task_enqueue(COMPANY_RECOMPUTE, countdown=COMPANY_DEBOUNCE_SECONDS)
        except Exception:
            logger.exception("company roll-up not sent; the next team run or sweep asks again")
            CompanyRecomputeState.objects.filter(id=1).update(queued=False)
            return False
    return bool(claimed)


def company_behind() -> bool:
    """Whether a team run finished after the last company roll-up."""
    state = CompanyRecomputeState.objects.filter(id=1).first()
    last_team_run = RecomputeState.objects.aggregate(last=Max("finished_at"))["last"]
    if last_team_run is None:
        return False
    return state is None or state.finished_at is None or state.finished_at < last_team_run


def company_recompute_started() -> None:
    CompanyRecomputeState.objects.filter(id=1).update(queued=False)


def company_recompute_finished() -> None:
    CompanyRecomputeState.objects.filter(id=1).update(
        finished_at=timezone.now(), runs=F("runs") + 1
    )


def winnable_due(state: RecomputeState, now: dt.datetime) -> bool:
    every = dt.timedelta(seconds=settings.WINNABLE_REFRESH_SECONDS)
    return state.winnable_at is None or now - state.winnable_at >= every


def tactics_due(state: RecomputeState, now: dt.datetime) -> bool:
    """The tactics counts want a rebuild: never built, or stale for TACTICS_REFRESH_SECONDS."""
    if state.tactics_at is None:
        return True
    every = dt.timedelta(seconds=settings.TACTICS_REFRESH_SECONDS)
    return state.tactics_stale and now - state.tactics_at >= every


def team_tactics_stale_on_commit(*, team_id: int) -> None:
    """Touch writes and response-rule changes call this inside their transaction: once it
    commits, the tactics counts are marked stale and the team's recompute is asked for (it
    rebuilds them when due; else the sweep does, once they are)."""

    def mark() -> None:
        RecomputeState.objects.filter(team_id=team_id, tactics_stale=False).update(
            tactics_stale=True
        )
        _request_after_commit(team_id)

    transaction.on_commit(mark)


def teams_sweep(*, now: dt.datetime | None = None, waiting: int | None = None) -> list[int]:
    """Re-enqueue teams that are behind (events newer than their watermark, deals pending, or
    winnable counts a throttled run left stale) and that no live request covers. The database
    is the truth; a lost broker message only delays a run until here, the next sweep (beat
    sends one every minute).

    A team flagged as queued is covered by its request unless that request is lost:
    - no run is waiting (the flag is clear: a run took it, then died with the worker; or the
      broker refused the message): behind means lost, at once;
    - the request is older than LOST_AFTER (seconds) and no message waits in the queue
      (`waiting`, which the beat's task reads from the broker, queue.queue_length): it was
      never delivered, or a flushed or restarted Redis dropped it, since a worker takes a
      delivered message within seconds;
    - messages wait in the queue, or its length is unknown: the worker may just be behind, so
      only after STALE_REQUEST.
    A request wrongly taken as lost (its message held by a busy worker that had already taken
    it) costs one duplicate run: runs are idempotent and serialized per team (`team_lock`).
    """
    now = now or timezone.now()
    enqueued = []
    for team_id in Team.objects.values_list("id", flat=True):
        state, _ = RecomputeState.objects.get_or_create(team_id=team_id)
        if state.rebuild_wanted and _rebuild_send(team_id):
            enqueued.append(team_id)  # the rebuild recomputes the team from its whole log
            continue
        behind = (
            team_last_event_id(team_id=team_id) > state.watermark
            or PendingDeal.objects.filter(team_id=team_id).exists()
            or (state.winnable_stale and winnable_due(state, now))
            or (state.tactics_stale and tactics_due(state, now))
        )
        if not behind or _request_covers(state, now=now, waiting=waiting):
            continue
        RecomputeState.objects.filter(team_id=team_id).update(queued=True, requested_at=now)
        try:
            task_enqueue(TEAM_RECOMPUTE, team_id)
        except Exception:
            logger.exception("sweep: team %s is behind but the broker refused the run", team_id)
            RecomputeState.objects.filter(team_id=team_id).update(queued=False)
            continue
        enqueued.append(team_id)
    if company_behind():
        company_recompute_request()  # does nothing while a live request waits
    if enqueued:
        logger.info(
            "sweep: re-enqueued %d team(s) behind their watermark: %s (queue length %s)",
            len(enqueued),
            enqueued,
            waiting,
        )
    return enqueued


def _request_covers(state: RecomputeState, *, now: dt.datetime, waiting: int | None) -> bool:
    """Whether the team's waiting request still stands for a run to come (teams_sweep)."""
    if not state.queued or state.requested_at is None:
        return False
    age = now - state.requested_at
    if waiting == 0:
        return age < LOST_AFTER
    return age < STALE_REQUEST


def recompute_lag_seconds(*, team_id: int, now: dt.datetime | None = None) -> float | None:
    """How far the team's figures may be behind its writes: the age of the oldest request no
    run has taken yet, or of pending marks no run has drained. None when nothing is waiting."""
    state = RecomputeState.objects.filter(team_id=team_id).first()
    return recompute_lag_of(state, team_id=team_id, now=now)


def recompute_lag_of(
    state: RecomputeState | None, *, team_id: int, now: dt.datetime | None = None
) -> float | None:
    """recompute_lag_seconds for a state already read (the dashboard also shows its failure)."""
    now = now or timezone.now()
    if state is None:
        return None
    waiting = state.queued and state.requested_at is not None
    pending = PendingDeal.objects.filter(team_id=team_id).exists()
    if not waiting and not pending:
        return None
    since = state.requested_at if waiting else (state.finished_at or state.requested_at)
    return max(0.0, (now - since).total_seconds()) if since else 0.0


def oldest_pending_recompute_seconds(*, now: dt.datetime | None = None) -> float:
    """The age of the oldest request waiting for a run, over all teams (0 when none): what the
    health check reports."""
    now = now or timezone.now()
    oldest = (
        RecomputeState.objects.filter(queued=True, requested_at__isnull=False)
        .order_by("requested_at")
        .values_list("requested_at", flat=True)
        .first()
    )
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
