"""The bottleneck dashboard: the company page and a team's page.

Each view serves the full page and, to htmx, its live part. The page polls its own URL with
the token of what it shows (`?since=`): while no recompute has finished the answer is a 204
after one query, so a room full of open dashboards costs almost nothing; when one has, the
live part is swapped in place.
"""

from __future__ import annotations

import hashlib
import time

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from funnel.models import Role
from funnel.periods import WINDOW_CHOICES, PeriodForm
from funnel.selectors import team_get_for_request
from kaizen.dashboard import context as contexts
from kaizen.dashboard.company import company_dashboard_get
from kaizen.dashboard.selectors import (
    dashboard_teams_read,
    team_dashboard_get,
    team_horizon,
    team_latest_status,
)

POLL_SECONDS = 3
CACHE_SECONDS = 600


def _period_key(request: HttpRequest) -> str:
    """The request's period as asked (the only parameters PeriodForm reads) and today, whose
    date the default period and the clamping of future dates depend on."""
    asked = repr((request.GET.get("as_of"), request.GET.get("window"), timezone.localdate()))
    return hashlib.blake2b(asked.encode(), digest_size=8).hexdigest()


def _page(request, *, template: str, key: str, build, chrome: dict, started: float):
    """The page's content from the cache when this version of the snapshots was rendered
    already for this period (the snapshots only change when a recompute finishes), else
    rendered and cached: the head (title, period control) and the live part, which htmx polls.
    Only the chrome around them (top bar, team menu: the user's own) is rendered per request.

    `build()` gives the head's context and the live part's; it alone reads the snapshots."""
    parts = cache.get(key)
    if parts is None:
        head_context, live_context = build()
        live_context["poll_seconds"] = POLL_SECONDS
        parts = (
            render_to_string(f"{template}#head", head_context, request=request),
            render_to_string(f"{template}#live", live_context, request=request),
        )
        cache.set(key, parts, CACHE_SECONDS)
    head, live = parts
    if request.htmx:
        response = HttpResponse(live)
    else:
        content = {"head_html": mark_safe(head), "live_html": mark_safe(live)}  # noqa: S308
        response = render(request, template, {**chrome, **content})
    patch_vary_headers(response, ["HX-Request"])
    response["Cache-Control"] = "no-store"
    response["Server-Timing"] = f"view;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def _teams_key(accesses) -> str:
    """What the pages show of the teams themselves (their ids, names and links)."""
    teams = sorted((a.team.id, a.team.slug, a.team.name) for a in accesses)
    return hashlib.blake2b(repr(teams).encode(), digest_size=8).hexdigest()


@require_GET
@login_required
def company_dashboard(request: HttpRequest) -> HttpResponse:
    started = time.perf_counter()
    accesses, token = dashboard_teams_read(request)
    team_ids = sorted(a.team.id for a in accesses)
    if request.htmx and request.GET.get("since") == token:
        return HttpResponse(status=204)
    whole_company = any(a.role == Role.EXECUTIVE for a in accesses)
    url = reverse("company_dashboard")

    def build() -> tuple[dict, dict]:
        # The default is each team at its own horizon (the live snapshots); a date judges
        # every team, and the company, as of that date.
        period = PeriodForm(request.GET).period(today=timezone.localdate(), horizon=None)
        data = company_dashboard_get(team_ids=team_ids, whole_company=whole_company, period=period)
        context = contexts.company_context(
            accesses=accesses, data=data, whole_company=whole_company
        )
        poll = period.query().lstrip("?") + "&" if period.query() else ""
        head = {
            "whole_company": whole_company,
            "period": period,
            "period_url": url,
            "period_windows": WINDOW_CHOICES,
            "period_judged": "each team at its own data horizon" if period.default else "",
        }
        return head, {**context, "token": token, "poll_url": url, "poll_query": poll}

    key = f"dashboard:company:{_teams_key(accesses)}:{whole_company}:{token}:{_period_key(request)}"
    return _page(
        request, template="dashboard/company.html", key=key, build=build, chrome={},
        started=started,
    )  # fmt: skip


@require_GET
@login_required
def team_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    """The team's verdict and charts for an analysis period (`?as_of=&window=`; the default
    is the team's data horizon, whose verdict is the live snapshot)."""
    started = time.perf_counter()
    # The token includes the team's recompute requests: the page says how far behind its
    # figures are, so a new request shows at the next poll.
    _, token = dashboard_teams_read(request, slug=slug)
    access = team_get_for_request(request, slug=slug)
    if request.htmx and request.GET.get("since") == token:
        return HttpResponse(status=204)
    url = reverse("team_dashboard", args=[slug])

    def build() -> tuple[dict, dict]:
        # The default period ends at the team's data horizon, which the latest verdict holds
        # (the token changes with it).
        horizon = team_horizon(team_latest_status(team=access.team))
        period = PeriodForm(request.GET).period(today=timezone.localdate(), horizon=horizon)
        data = team_dashboard_get(team=access.team, period=period)
        context = contexts.team_context(access=access, data=data)
        start = _cycle_start_url(access) if data.status else None
        poll = period.query().lstrip("?") + "&" if period.query() else ""
        head = {
            "access": access,
            "team": access.team,
            "period": period,
            "period_url": url,
            "period_windows": WINDOW_CHOICES,
            "period_judged": "verdict over 13 weeks, charts over all weeks"
            if period.window is None
            else "",
        }
        live = {
            **context,
            "token": token,
            "poll_url": url,
            "poll_query": poll,
            "cycle_start_url": start,
        }
        return head, live

    # What the content shows depends on the snapshots' version, the viewer's role, the team's
    # name and link, and the period asked for.
    key = f"dashboard:team:{_teams_key([access])}:{access.role}:{token}:{_period_key(request)}"
    chrome = {"access": access, "team": access.team}
    return _page(
        request, template="dashboard/team.html", key=key, build=build, chrome=chrome,
        started=started,
    )  # fmt: skip


def _cycle_start_url(access) -> str | None:
    """Where a manager starts a PDCA cycle at the bottleneck."""
    if not access.can_manage:
        return None
    return reverse("kaizen:cycle_new", args=[access.team.slug]) + "?from=bottleneck"
