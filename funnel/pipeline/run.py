"""A team's run: from the weekly stage-flow counts to the snapshots the dashboards read.

It drains the deals ingestion marked pending into the passages and StageFlow (by delta, see
funnel.pipeline.passages), reads StageFlow (only the cells the drains touched when this worker
kept the rest, funnel.pipeline.touched) and the open deals' ages, runs the pure metrics, and
updates the team's StageMetric rows and its latest BottleneckStatus, each step in a transaction
under a per-team lock, so it is idempotent and two runs for one team never interleave. Then it
asks for the company roll-up (funnel.pipeline.request), which runs as its own debounced task.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import zoneinfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from funnel.bounds import STORED_EARLIEST, STORED_LATEST
from funnel.metrics.accounting import week_start
from funnel.metrics.edges import data_horizon
from funnel.metrics.flow import days_in_stage_counts
from funnel.metrics.intervals import wilson_interval
from funnel.models import (
    BottleneckStatus,
    RecomputeState,
    Stage,
    StageEvent,
    StageMetric,
    Team,
)
from funnel.pipeline.as_of import (
    contenders_basis,
    histogram_since,
    status_values,
    verdict_as_of,
)
from funnel.pipeline.figures import SETTINGS
from funnel.pipeline.open_deals import open_deals_read
from funnel.pipeline.passages import team_flow_rebuild, team_lock, team_pending_drain
from funnel.pipeline.queue import TEAM_REBUILD, TEAM_RECOMPUTE, task_enqueue
from funnel.pipeline.request import (
    company_recompute_request,
    tactics_due,
    team_last_event_id,
    team_recompute_started,
    winnable_due,
)
from funnel.pipeline.run_lock import team_run_lock
from funnel.pipeline.snapshots import stage_metrics_sync
from funnel.pipeline.stale import stale_cut_of
from funnel.pipeline.tactics import team_tactics_rebuild
from funnel.pipeline.touched import contenders_kept, histograms_at, inputs_read, kept_store
from funnel.winnable.services import team_winnable_recompute

logger = logging.getLogger(__name__)


def team_recompute(
    *,
    team: Team,
    now: dt.datetime | None = None,
    winnable: bool | None = None,
    tactics: bool | None = None,
) -> BottleneckStatus:
    """Recompute the team's snapshots and verdict; idempotent, one run per team at a time.

    First the pending deals are drained into the passages and StageFlow; then the verdict and
    stage snapshots commit, so dashboards see them at once; then the winnable counts (a scan of
    every closed deal: seconds at a million deals), at most every WINNABLE_REFRESH_SECONDS unless
    `winnable` forces or skips them; the tactics counts likewise (TACTICS_REFRESH_SECONDS,
    `tactics`: a run follows a write of events or touches, either of which changes them); and
    the company roll-up.
    """
    started = time.perf_counter()
    now = now or timezone.now()
    # Read before the drain: every event up to this id has its pending mark committed, so the
    # drain below takes it in. A batch still open with a lower id marks its deals, schedules its
    # own run on commit, and the sweeper re-runs any team with marks left.
    watermark = team_last_event_id(team_id=team.id)
    team_pending_drain(team=team)
    status = _team_snapshots_recompute(team=team, now=now, watermark=watermark)
    with transaction.atomic():
        state = team_lock(team)
        due = winnable if winnable is not None else winnable_due(state, now)
        if due:
            team_winnable_recompute(team=team)
        RecomputeState.objects.filter(id=state.id).update(
            winnable_at=now if due else state.winnable_at,
            winnable_stale=not due,
        )
        # The snapshots step marked the tactics counts stale; rebuilt here when due.
        rebuild_tactics = tactics if tactics is not None else tactics_due(state, now)
    if rebuild_tactics:
        team_tactics_rebuild(team=team, now=now)
    company_recompute_request()
    logger.info(
        "recompute team=%s verdict=%s through event %s winnable=%s tactics=%s in %.0f ms",
        team.slug,
        status.verdict,
        watermark,
        "rebuilt" if due else "throttled",
        "rebuilt" if rebuild_tactics else "throttled",
        (time.perf_counter() - started) * 1000,
    )
    return status


def team_recompute_queued(*, team_id: int) -> BottleneckStatus | None:
    """The queued run a write asked for: its flag is cleared first, so writes from here on
    queue exactly one trailing run. None when the team was deleted meanwhile, or its run
    failed (logged and marked on the team; see `team_run_isolated`), or another run of the team
    holds its run lock: then this one is sent again later (`team_run_defer`), its flag left set
    so that writes meanwhile add no run."""
    with team_run_lock(team_id=team_id) as held:
        if not held:
            team_run_defer(TEAM_RECOMPUTE, team_id)
            return None
        team_recompute_started(team_id=team_id)
        team = Team.objects.filter(id=team_id).first()
        if team is None:
            return None
        return team_run_isolated("recompute", team, lambda: team_recompute(team=team))


def team_run_defer(task: str, team_id: int) -> None:
    """Send the team's run again after TEAM_BUSY_RETRY_SECONDS: another run of the team is
    under way (funnel.pipeline.run_lock). A broker that refuses leaves it to the sweeper."""
    delay = settings.TEAM_BUSY_RETRY_SECONDS
    logger.info("%s team=%s deferred %s s: another run of the team holds it", task, team_id, delay)
    try:
        task_enqueue(task, team_id, countdown=delay)
    except Exception:
        logger.exception("%s team=%s not deferred; the sweeper runs it later", task, team_id)


def team_run_isolated(kind: str, team: Team, run) -> BottleneckStatus | None:
    """Run one team's recompute or rebuild so that its failure stays its own: logged with the
    traceback, marked on the team (RecomputeState.failed_at and failure, shown on its pages and
    in the admin, cleared by the next good run) and never raised to the caller, which may be a
    write's on-commit hook, the sweeper or the nightly loop over every team."""
    try:
        status = run()
    except Exception as error:
        logger.exception(
            "%s team=%s failed; its figures stay at the last good run", kind, team.slug
        )
        RecomputeState.objects.update_or_create(
            team=team,
            defaults={
                "failed_at": timezone.now(),
                "failure": f"{kind}: {type(error).__name__}: {error}"[:500],
            },
        )
        return None
    RecomputeState.objects.filter(team=team, failed_at__isnull=False).update(
        failed_at=None, failure=""
    )
    return status


def team_rebuild(*, team: Team) -> BottleneckStatus:
    """Re-derive the team's passages and counts from its whole event log, then recompute with
    the winnable counts: the nightly drift repair, `manage.py recompute --rebuild`, and what
    bench_recompute measures."""
    started = time.perf_counter()
    _refuse_out_of_range_events(team)
    deals = team_flow_rebuild(team=team)
    status = team_recompute(team=team, winnable=True, tactics=True)
    logger.info(
        "rebuild team=%s deals=%d in %.0f ms",
        team.slug,
        deals,
        (time.perf_counter() - started) * 1000,
    )
    return status


class OutOfRangeEvents(Exception):
    """The team's log holds events no boundary would let in; its rebuild would count them."""


def _refuse_out_of_range_events(team: Team) -> None:
    """A rebuild reads the whole log anyway: one more pass finds events dated outside
    1970..9999 (planted around the boundaries), which would be read clamped to the edge of the
    calendar and counted as passages there. The team is marked with the deals to delete in the
    admin instead, and keeps its last good figures."""
    bad = (
        StageEvent.objects.filter(team=team)
        .exclude(occurred_at__gte=STORED_EARLIEST, occurred_at__lte=STORED_LATEST)
        .values_list("deal__external_id", flat=True)
        .distinct()
    )
    deals = sorted(bad[:5])
    if deals:
        raise OutOfRangeEvents(
            f"events dated outside 1970 to 9999 on deal(s) {', '.join(deals)}: "
            "delete them in the admin (Deals), then rebuild"
        )


@transaction.atomic
def _team_snapshots_recompute(*, team: Team, now: dt.datetime, watermark: int) -> BottleneckStatus:
    state = team_lock(team)
    stages = list(Stage.objects.filter(team=team).in_funnel().order_by("position"))
    inputs = inputs_read(team=team, state=state, stages=stages)
    stage_weeks = inputs.kept.stage_weeks()
    # A team whose data stopped is judged as of its data horizon, not today (DESIGN.md §3).
    horizon = data_horizon(stage_weeks, today=now.date())
    as_of = now if horizon is None else _week_start_instant(horizon)
    since = histogram_since(as_of.date(), SETTINGS.recent_weeks)
    every_row = histograms_at(team=team, inputs=inputs, since=since)
    left = inputs.kept.left
    stale = stale_cut_of(state)
    open_ages, open_figures, inputs.kept.open_deals = open_deals_read(
        team, as_of, stale, kept=inputs.kept.open_deals
    )
    basis = contenders_basis(stages, stage_weeks, week_start(as_of.date()))
    verdict, figures = verdict_as_of(
        stages=stages,
        stage_weeks=stage_weeks,
        left=left,
        as_of=as_of.date(),
        open_ages=open_ages,
        contenders=contenders_kept(inputs, basis, every_row),
    )
    inputs.kept.verdict, inputs.kept.verdict_basis = verdict, basis
    _stage_metrics_replace(
        team=team,
        stages=stages,
        stage_weeks=stage_weeks,
        left=left,
        cells=None if every_row else inputs.touched,
    )
    status = _status_record(
        team=team,
        stages=stages,
        figures=figures | open_figures,
        watermark=watermark,
        now=now,
        horizon=horizon,
    )
    state.watermark = max(state.watermark, watermark)
    state.started_at = now
    state.finished_at = timezone.now()
    state.runs += 1
    # The winnable counts lag the verdict until the run's last step says otherwise: a worker
    # killed in between leaves the mark, and the sweeper runs the team again.
    state.winnable_stale = True
    state.tactics_stale = True
    kept_store(team=team, state=state, kept=inputs.kept)
    state.save(
        update_fields=[
            "flow_touched",
            "watermark",
            "started_at",
            "finished_at",
            "runs",
            "winnable_stale",
            "tactics_stale",
        ]
    )
    return status


def _stage_metrics_replace(*, team, stages, stage_weeks, left, cells=None) -> None:
    """The StageMetric rows of every (stage, week), or only of the touched `cells`."""
    by_position = {s.position: s for s in stages}
    keys = None
    if cells is not None:
        position = {s.id: s.position for s in stages}
        keys = {(position[s], w) for s, w in cells if s in position}
    rows = []
    for row in stage_weeks:
        if keys is not None and (row.stage_position, row.week_start) not in keys:
            continue
        stage = by_position[row.stage_position]
        rate = wilson_interval(row.advanced, row.advanced + row.lost)
        days = days_in_stage_counts(left.get(stage.id, {}).get(row.week_start, []))
        rows.append(
            StageMetric(
                team=team,
                stage=stage,
                station=stage.station,
                position=stage.position,
                week=row.week_start,
                entered=row.entered,
                advanced=row.advanced,
                lost=row.lost,
                conversion=rate.rate,
                conversion_low=rate.low,
                conversion_high=rate.high,
                days_median=days.median,
                days_p85=days.p85,
            )
        )
    stage_metrics_sync(team_id=team.id, rows=rows, keys=keys)


def _week_start_instant(week: dt.date) -> dt.datetime:
    return dt.datetime.combine(week, dt.time(), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def _status_record(*, team, stages, figures, watermark, now, horizon=None) -> BottleneckStatus:
    # A stopped history: the last complete week judged ends the day before its horizon.
    up_to = (horizon - dt.timedelta(days=1)).isoformat() if horizon else None
    values = {
        **status_values(stages=stages, figures=figures | {"history_up_to": up_to}),
        "watermark": watermark,
        "computed_at": now,
    }
    stage, station = values["stage"], values["station"]
    latest = BottleneckStatus.objects.filter(team=team).order_by("-computed_at", "-id").first()
    same = latest is not None and (latest.verdict, latest.stage_id, latest.station) == (
        values["verdict"],
        stage.id if stage else None,
        station,
    )
    if same:
        for name, value in values.items():
            setattr(latest, name, value)
        latest.save()
        return latest
    return BottleneckStatus.objects.create(team=team, changed=latest is not None, **values)


def team_rebuild_by_id(*, team_id: int) -> BottleneckStatus | None:
    """The rebuild task's run, under the team's run lock like a recompute (deferred if busy)."""
    with team_run_lock(team_id=team_id) as held:
        if not held:
            team_run_defer(TEAM_REBUILD, team_id)
            return None
        team = Team.objects.filter(id=team_id).first()
        if team is None:
            return None
        return team_run_isolated("rebuild", team, lambda: team_rebuild(team=team))


def teams_rebuild_enqueue() -> list[int]:
    """Nightly: one rebuild task per team, so one team's failure never stops the others."""
    team_ids = list(Team.objects.order_by("id").values_list("id", flat=True))
    for team_id in team_ids:
        try:
            task_enqueue(TEAM_REBUILD, team_id)
        except Exception:  # eager mode runs it here: log it and go on with the next team
            logger.exception("nightly rebuild of team %s failed", team_id)
    return team_ids
