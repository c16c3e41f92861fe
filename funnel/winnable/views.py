"""What makes deals winnable: the analysis, the prospect departments and the characteristics.

One template per page serves the full page and, for htmx filter requests, its results partial.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from funnel.metrics.winnable import MIN_DIFFERENCE
from funnel.models import Role, Team
from funnel.periods import WINDOW_CHOICES
from funnel.selectors import Action, TeamAccess, team_get_for_user
from funnel.winnable.analysis import WinnableAnalysis
from funnel.winnable.chart import chart_mark, chart_scale
from funnel.winnable.forms import (
    WINNABLE_WINDOW,
    CharacteristicForm,
    WinnableFilterForm,
    winnable_period_form,
)
from funnel.winnable.selectors import (
    characteristic_get_for_user,
    characteristic_observed_counts,
    characteristics_for_team,
    closed_deals_all_time,
    department_analysis,
    open_deals_count,
    open_deals_stale,
    teams_data_horizon,
    winnable_access_for_user,
    winnable_analysis,
    winnable_months,
    winnable_teams_for_user,
    won_amount_by_currency,
)
from funnel.winnable.services import characteristic_create, characteristic_set_active

ANALYSIS = "winnable/analysis.html"
DEPARTMENTS = "winnable/departments.html"
CHARACTERISTICS = "winnable/characteristics.html"


def _chart(analysis: WinnableAnalysis) -> dict:
    """Each value's dot and whisker beside the ring of the rest it is compared with: the
    verdict is about that gap, so the chart shows it (not the gap to the overall rate)."""
    rates = [r.finding.win_rate for r in analysis.rows]
    scale = chart_scale(rates, None, [r.finding.rest_rate for r in analysis.rows])
    return {
        "scale": scale,
        "groups": [
            (
                coverage,
                [
                    (row, chart_mark(row.finding.win_rate, scale, row.finding.rest_rate))
                    for row in rows
                ],
            )
            for coverage, rows in analysis.groups
        ],
    }


def _money(teams: list[Team], team: Team | None, team_ids: list[int], since, until) -> dict:
    """How amounts are written: in the team's currency; across teams, in their one currency,
    or per currency when they differ (amounts in different currencies are never added up)."""
    if team is not None:
        return {"money_for": team, "won_by_currency": []}
    currencies = {t.currency or "USD" for t in teams}
    if len(currencies) == 1:
        return {"money_for": currencies.pop(), "won_by_currency": []}
    return {
        "money_for": None,
        "won_by_currency": won_amount_by_currency(team_ids=team_ids, since=since, until=until),
    }


def _months_words(since: dt.date | None, until: dt.date) -> tuple[str, str]:
    """ "closed Mar 2011 – Feb 2012", and why whole months: the counts are kept per month."""
    last = (until - dt.timedelta(days=1)).strftime("%b %Y")
    if since is None:
        return f"closed up to {last}", f"every close month up to {last}, in full"
    first = since.strftime("%b %Y")
    return f"closed {first} – {last}", f"close months {first} to {last}, in full"


def _page(
    request: HttpRequest,
    template: str,
    *,
    teams: list[Team],
    team: Team | None,
    access: TeamAccess | None,
) -> HttpResponse:
    """Render the analysis or departments page for one team or (executives) for all."""
    team_ids = [team.id] if team else [t.id for t in teams]
    period = winnable_period_form(request.GET).period(
        today=timezone.localdate(),
        horizon=teams_data_horizon(team_ids=team_ids),
        default_window=WINNABLE_WINDOW,
    )
    since, until = winnable_months(as_of=period.as_of, window=period.window)
    # A team's own setting; across teams, the default.
    min_difference = float(team.winnable_min_difference) if team else MIN_DIFFERENCE
    label, judged = _months_words(since, until)
    context = {
        "access": access,
        "team": team,
        "teams": teams,
        "is_executive": access is None or access.role == Role.EXECUTIVE,
        "period": period,
        "period_label": label,
        "period_judged": judged,
        "period_windows": WINDOW_CHOICES,
        "period_url": request.path,
        "period_hidden": [("team", team.slug)] if team and access is None else [],
        "since": since,
    } | _money(teams, team, team_ids, since, until)
    if template == ANALYSIS:
        analysis = winnable_analysis(
            team_ids=team_ids, since=since, until=until, min_difference=min_difference
        )
        context |= {
            "analysis": analysis,
            "chart": _chart(analysis),
            "open_deals": open_deals_count(team_ids=team_ids),
        }
        context["stale_deals"], context["stale_days"] = open_deals_stale(team_ids=team_ids)
    else:
        record, observed = department_analysis(
            team_ids=team_ids, since=since, until=until, min_difference=min_difference
        )
        context |= {
            "analysis": record,
            "record": record,
            "observed": observed,
            "record_chart": _chart(record),
            "observed_chart": _chart(observed),
        }
    if context["analysis"].overall.n == 0:
        context["all_time"] = closed_deals_all_time(team_ids=team_ids)
    response = render(request, template + ("#results" if request.htmx else ""), context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _team_page(request: HttpRequest, slug: str, template: str) -> HttpResponse:
    access = winnable_access_for_user(user=request.user, slug=slug)
    teams = winnable_teams_for_user(user=request.user) if access.role == Role.EXECUTIVE else []
    return _page(request, template, teams=teams, team=access.team, access=access)


def _company_page(request: HttpRequest, template: str) -> HttpResponse:
    teams = winnable_teams_for_user(user=request.user)
    team = WinnableFilterForm(request.GET or None, teams=teams).chosen_team()
    return _page(request, template, teams=teams, team=team, access=None)


@require_GET
@login_required
def winnable_team(request: HttpRequest, slug: str) -> HttpResponse:
    return _team_page(request, slug, ANALYSIS)


@require_GET
@login_required
def winnable_company(request: HttpRequest) -> HttpResponse:
    return _company_page(request, ANALYSIS)


@require_GET
@login_required
def departments_team(request: HttpRequest, slug: str) -> HttpResponse:
    return _team_page(request, slug, DEPARTMENTS)


@require_GET
@login_required
def departments_company(request: HttpRequest) -> HttpResponse:
    return _company_page(request, DEPARTMENTS)


# ---------------------------------------------------------------- characteristics


@require_GET
@login_required
def characteristic_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug)
    characteristics = list(characteristics_for_team(team=access.team))
    observed = characteristic_observed_counts(team=access.team)
    for c in characteristics:
        c.closed_observed = observed.get(c.id, 0)
    context = {"access": access, "team": access.team, "characteristics": characteristics}
    return render(request, CHARACTERISTICS, context)


@require_http_methods(["GET", "POST"])
@login_required
def characteristic_new(request: HttpRequest, slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug, action=Action.MANAGE)
    form = CharacteristicForm(request.POST or None, team=access.team)
    if request.method == "POST" and form.is_valid():
        try:
            characteristic = characteristic_create(
                team=access.team, author=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            for name, errors in error.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, f"{characteristic.name} added; reps can record it now.")
            return redirect("characteristic_list", slug=access.team.slug)
    context = {"access": access, "team": access.team, "form": form}
    return render(request, "winnable/characteristic_form.html", context)


@require_POST
@login_required
def characteristic_active(request: HttpRequest, slug: str, characteristic_id: int) -> HttpResponse:
    characteristic, access = characteristic_get_for_user(
        user=request.user, slug=slug, characteristic_id=characteristic_id, action=Action.MANAGE
    )
    active = request.POST.get("active") == "1"
    characteristic_set_active(characteristic=characteristic, active=active)
    if not request.htmx:
        state = "active again" if active else "deactivated"
        messages.success(request, f"{characteristic.name} is {state}.")
        return redirect("characteristic_list", slug=access.team.slug)
    row = characteristics_for_team(team=access.team).get(id=characteristic.id)
    row.closed_observed = characteristic_observed_counts(team=access.team).get(row.id, 0)
    context = {"access": access, "team": access.team, "c": row}
    response = render(request, CHARACTERISTICS + "#characteristic-row", context)
    patch_vary_headers(response, ["HX-Request"])
    return response
