"""Reads for the bottleneck dashboard: snapshots only, never the raw event log.

Every function here runs a fixed number of queries however many weeks, stages or teams there
are (the company page batches its teams), so a page costs the same on a team of ten deals and
on a company of a million.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone

from funnel.metrics.accounting import week_start
from funnel.models import (
    Agreement,
    BottleneckStatus,
    DefinitionVersion,
    Membership,
    RecomputeState,
    Role,
    StageMetric,
    Team,
)
from funnel.periods import Period, horizon_from_figures
from funnel.pipeline.as_of import team_status_for_period
from funnel.pipeline.request import recompute_lag_of
from funnel.selectors import TeamAccess, team_accesses_of, team_accesses_remember, team_accesses_sql
from kaizen.models import Cycle, Phase

CHART_WEEKS = 52
HISTORY_ROWS = 12
ACTIVE_PHASES = (Phase.PLAN, Phase.DO, Phase.CHECK, Phase.ACT)


@dataclass(frozen=True)
class WeekRow:
    position: int
    week: dt.date
    entered: int
    advanced: int
    lost: int


@dataclass(frozen=True)
class Coverage:
    """How many of the team's sellers and managers agreed to each current definition."""

    definitions: int = 0
    members: int = 0
    agreed: int = 0  # agreements to current versions, summed over definitions
    fully_agreed: int = 0  # definitions every member agreed to
    rows: tuple[tuple[str, int, int], ...] = ()  # (term, version, agreed), fewest first

    @property
    def share(self) -> float | None:
        possible = self.definitions * self.members
        return self.agreed / possible if possible else None


@dataclass(frozen=True)
class RecomputeLag:
    """How far the team's figures may be behind its writes: since when a recompute has been
    waiting (seconds None, since None when nothing waits)."""

    seconds: float | None = None
    since: dt.datetime | None = None
    # The last run failed (RecomputeState.failed_at): figures are frozen at the last good run.
    failed_at: dt.datetime | None = None


@dataclass
class TeamDashboard:
    status: BottleneckStatus | None
    history: list[BottleneckStatus]
    weeks: list[WeekRow]
    dividers: list[tuple[dt.date, str, int | None]]  # (date, label, stage position or None)
    cycles: list[Cycle]
    coverage: Coverage
    lag: RecomputeLag = field(default_factory=RecomputeLag)
    chart_to: dt.date = field(default_factory=lambda: week_start(timezone.localdate()))
    chart_weeks: int = CHART_WEEKS
    period: Period | None = None


def chart_window(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """Complete weeks only: the current week is still filling and would look like a dip."""
    end = week_start(today or timezone.localdate())
    return end - dt.timedelta(weeks=CHART_WEEKS), end


def status_token(*, team_ids: list[int], recompute_requests: bool = False) -> str:
    """What changes whenever a recompute of any of these teams finishes, or a cycle or an
    agreement of theirs changes: the version of everything the live part shows (one query).
    The pages read it with the user's teams (`dashboard_teams_read`); the same parts here.

    With `recompute_requests`, also when a recompute is requested or starts, for a page that
    says how far behind its figures are."""
    if not team_ids:
        return "none"
    parts = _version_parts(recompute_requests)
    columns = ", ".join(f"({sql})" for _, sql in parts)
    marks = ", ".join(["%s"] * len(team_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {Team._meta.db_table} a WHERE a.id IN ({marks})",  # noqa: S608
            list(team_ids),
        )
        rows = cursor.fetchall()
    return _versions_token(rows, [kind for kind, _ in parts])


def _version_parts(recompute_requests: bool) -> list[tuple[str, str]]:
    """Per team ``a``: what ``status_token`` reads over a set of teams, and how the teams' values
    combine into the set's (the largest, or the sum of the counts)."""
    status, cycle = BottleneckStatus._meta.db_table, Cycle._meta.db_table
    agreement, version = Agreement._meta.db_table, DefinitionVersion._meta.db_table
    definition = DefinitionVersion._meta.get_field("definition").related_model._meta.db_table
    parts = [
        ("max", f"SELECT MAX(id) FROM {status} WHERE team_id = a.id"),
        ("max", f"SELECT MAX(computed_at) FROM {status} WHERE team_id = a.id"),
        ("max", f"SELECT MAX(watermark) FROM {status} WHERE team_id = a.id"),
        ("max", f"SELECT MAX(updated_at) FROM {cycle} WHERE team_id = a.id"),
        ("sum", f"SELECT COUNT(*) FROM {cycle} WHERE team_id = a.id"),
        (
            "max",
            f"SELECT MAX(g.id) FROM {agreement} g JOIN {version} v ON v.id = g.version_id "
            f"JOIN {definition} d ON d.id = v.definition_id WHERE d.team_id = a.id",
        ),
    ]
    if recompute_requests:
        state = RecomputeState._meta.db_table
        parts.append(
            ("max", f"SELECT MAX(requested_at) FROM {state} WHERE team_id = a.id AND queued")
        )
    return parts


def _versions_token(rows: list[tuple], how: list[str]) -> str:
    """``status_token`` of the teams whose per-team values these are (the same token)."""
    if not rows:
        return "none"
    combined = []
    for i, kind in enumerate(how):
        values = [row[i] for row in rows if row[i] is not None]
        if kind == "sum":
            combined.append(sum(values))
        else:
            combined.append(max(values, default=None))
    return hashlib.blake2b(repr(tuple(combined)).encode(), digest_size=8).hexdigest()


def dashboard_teams_read(request, *, slug: str | None = None) -> tuple[list[TeamAccess], str]:
    """The request's user's teams (funnel.selectors.team_accesses_sql) and, in the same
    statement, the token of what the page shows: of every team for the company page, of the
    team `slug` (with its recompute requests) for a team's page. One round trip where the
    accesses and ``status_token`` took two; the top bar reuses the accesses."""
    parts = _version_parts(recompute_requests=slug is not None)
    accesses_sql, params = team_accesses_sql(user=request.user)
    when = "a.slug = %s" if slug is not None else "TRUE"
    columns = ", ".join(
        f"(CASE WHEN {when} THEN ({sql}) END) AS version_{i}" for i, (_, sql) in enumerate(parts)
    )
    column_params = [slug] * len(parts) if slug is not None else []
    teams = list(
        Team.objects.raw(
            f"SELECT a.*, {columns} FROM ({accesses_sql}) a ORDER BY a.name, a.id",  # noqa: S608
            [*column_params, *params],
        )
    )
    accesses = team_accesses_remember(request, team_accesses_of(teams))
    rows = [
        tuple(getattr(t, f"version_{i}") for i in range(len(parts)))
        for t in teams
        if slug is None or t.slug == slug
    ]
    return accesses, _versions_token(rows, [kind for kind, _ in parts])


def team_latest_status(*, team) -> BottleneckStatus | None:
    return (
        BottleneckStatus.objects.filter(team=team)
        .select_related("stage")
        .order_by("-computed_at", "-id")
        .first()
    )


def team_horizon(status: BottleneckStatus | None) -> dt.date | None:
    """The data horizon the latest recompute found (None while data arrives)."""
    return horizon_from_figures(status.figures) if status else None


def team_dashboard_get(*, team, period: Period | None = None) -> TeamDashboard:
    """Everything the team page shows for a period (default: the live snapshot's), in at most
    eleven queries; a period the snapshot does not hold adds the as-of computation's reads."""
    statuses = list(
        BottleneckStatus.objects.filter(team=team)
        .select_related("stage")
        .order_by("-computed_at", "-id")[:HISTORY_ROWS]
    )
    latest = statuses[0] if statuses else None
    status = latest
    chart_weeks = CHART_WEEKS
    if period is None:
        start, end = chart_window(_history_end(latest) if latest else None)
    else:
        status = team_status_for_period(team=team, latest=latest, period=period)
        end = period.end
        figures = (status.figures or {}) if status else {}
        if figures.get("edge") and figures.get("recent_to"):
            # New deals stopped: the weeks after only drain earlier deals; the charts end
            # where the verdict's judged weeks do.
            end = min(end, dt.date.fromisoformat(figures["recent_to"]))
        if period.window is None:
            chart_weeks = _weeks_of_data(team, end)
        chart_weeks = max(chart_weeks, period.verdict_weeks)
        start = end - dt.timedelta(weeks=chart_weeks)
    weeks = _week_rows(Q(team=team), start, end)
    cycles = list(
        Cycle.objects.filter(team=team)
        .filter(Q(phase__in=ACTIVE_PHASES) | Q(do_start__gte=start))
        .select_related("stage", "owner", "tactic")
        .order_by("-updated_at", "-id")
    )
    dividers = [
        (c.do_start, f"Do: {c.title}", c.stage.position if c.stage else None)
        for c in cycles
        if c.do_start and start <= c.do_start < end
    ]
    changes = DefinitionVersion.objects.filter(
        definition__team=team, number__gt=1, effective_from__gte=start, effective_from__lt=end
    ).values_list("effective_from", "definition__term", "number", "definition__stages__position")
    dividers += [(when, f"{term} v{number}", position) for when, term, number, position in changes]
    return TeamDashboard(
        status=status,
        history=statuses,
        weeks=weeks,
        dividers=sorted(dividers),
        cycles=[c for c in cycles if c.phase in ACTIVE_PHASES],
        coverage=agreement_coverage(team=team),
        lag=team_recompute_lag(team=team),
        chart_to=end,
        chart_weeks=chart_weeks,
        period=period,
    )


def _weeks_of_data(team, end: dt.date) -> int:
    """Weeks from the team's first weekly figures to `end` (for the "all data" charts)."""
    first = (
        StageMetric.objects.filter(team=team, week__lt=end)
        .order_by("week")
        .values_list("week", flat=True)
        .first()
    )
    return max(1, (end - first).days // 7) if first else CHART_WEEKS


def _history_end(status: BottleneckStatus) -> dt.date | None:
    """For a team whose data stopped, the charts end where the verdict's history does."""
    up_to = (status.figures or {}).get("history_up_to")
    return dt.date.fromisoformat(up_to) + dt.timedelta(days=1) if up_to else None


def team_recompute_lag(*, team) -> RecomputeLag:
    now = timezone.now()
    state = RecomputeState.objects.filter(team_id=team.id).first()
    seconds = recompute_lag_of(state, team_id=team.id, now=now)
    failed_at = state.failed_at if state is not None else None
    if seconds is None:
        return RecomputeLag(failed_at=failed_at)
    return RecomputeLag(
        seconds=seconds, since=now - dt.timedelta(seconds=seconds), failed_at=failed_at
    )


def _week_rows(where: Q, start: dt.date, end: dt.date) -> list[WeekRow]:
    rows = (
        StageMetric.objects.filter(where, week__gte=start, week__lt=end)
        .values("position", "week")
        .order_by("position", "week")
        .annotate(e=Sum("entered"), a=Sum("advanced"), lost_=Sum("lost"))
    )
    return [WeekRow(r["position"], r["week"], r["e"], r["a"], r["lost_"]) for r in rows]


def agreement_coverage(*, team) -> Coverage:
    """Agreement to each definition's current version by the team's reps and managers."""
    members = list(
        Membership.objects.filter(team=team, role__in=[Role.REP, Role.MANAGER]).values_list(
            "user_id", flat=True
        )
    )
    versions = (
        DefinitionVersion.objects.filter(definition__team=team)
        .order_by("definition_id", "-number")
        .values_list("definition_id", "id", "number", "definition__term")
    )
    current: dict[int, tuple[int, int, str]] = {}
    for definition_id, version_id, number, term in versions:
        current.setdefault(definition_id, (version_id, number, term))
    if not current:
        return Coverage(members=len(members))
    agreed = dict(
        Agreement.objects.filter(
            version_id__in=[v for v, _, _ in current.values()], user_id__in=members
        )
        .values("version_id")
        .annotate(n=Count("user_id", distinct=True))
        .values_list("version_id", "n")
    )
    rows = sorted(
        ((term, number, agreed.get(v, 0)) for v, number, term in current.values()),
        key=lambda r: (r[2], r[0]),
    )
    return Coverage(
        definitions=len(rows),
        members=len(members),
        agreed=sum(r[2] for r in rows),
        fully_agreed=sum(1 for r in rows if members and r[2] >= len(members)),
        rows=tuple(rows),
    )
