"""History pages: who changed a deal, a stage, a definition or the team's settings, and the
team's whole history as CSV. Each page is readable by whoever may read the page it belongs to."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from funnel.deals.selectors import deal_get_for_user_by_slug
from funnel.definitions.selectors import definition_get
from funnel.history.export import history_csv_rows
from funnel.history.selectors import (
    HISTORY_PAGE_SIZE,
    history_available,
    history_for_objects,
)
from funnel.models import (
    ApiToken,
    Characteristic,
    Deal,
    DefinitionVersion,
    Membership,
    Observation,
    OperationalDefinition,
    Stage,
    StaleRule,
    Tactic,
    Team,
    Touch,
)
from funnel.selectors import Action, TeamAccess, team_get_for_user
from funnel.stages.selectors import stage_get_for_team


def _page(request, access: TeamAccess, *, title: str, back: tuple[str, str], sources, many: bool):
    entries = history_for_objects(sources=sources, team=access.team)
    page = Paginator(entries, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "access": access,
        "team": access.team,
        "title": title,
        "back_url": back[0],
        "back_label": back[1],
        "page": page,
        "many": many,  # several objects: each row names its object
        "recorded": history_available(),
    }
    return render(request, "history/page.html", context)


@require_GET
@login_required
def deal_history(request: HttpRequest, slug: str, deal_id: int) -> HttpResponse:
    deal, access = deal_get_for_user_by_slug(user=request.user, slug=slug, deal_id=deal_id)
    sources = [
        (Deal, Q(pgh_obj_id=deal.id)),
        (Observation, Q(deal_id=deal.id)),
        (Touch, Q(deal_id=deal.id)),
    ]
    back = (reverse("deal_detail", args=[slug, deal.id]), deal.account or deal.external_id)
    title = f"History of deal {deal.external_id}"
    return _page(request, access, title=title, back=back, sources=sources, many=True)


@require_GET
@login_required
def stage_history(request: HttpRequest, slug: str, stage_slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug, action=Action.MANAGE)
    stage = stage_get_for_team(team=access.team, slug=stage_slug)
    if stage is None:
        raise Http404("No such stage.")
    back = (reverse("stage_editor", args=[slug]), "Stages")
    title = f"History of stage {stage.name}"
    sources = [(Stage, Q(pgh_obj_id=stage.id))]
    return _page(request, access, title=title, back=back, sources=sources, many=False)


@require_GET
@login_required
def definition_history(request: HttpRequest, slug: str, definition_slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug)
    definition = definition_get(team=access.team, slug=definition_slug)
    sources = [
        (OperationalDefinition, Q(pgh_obj_id=definition.id)),
        (DefinitionVersion, Q(definition_id=definition.id)),
    ]
    back = (reverse("definitions:definition_detail", args=[slug, definition.slug]), definition.term)
    title = f"History of the definition of {definition.term}"
    return _page(request, access, title=title, back=back, sources=sources, many=True)


@require_GET
@login_required
def team_history(request: HttpRequest, slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug, action=Action.MANAGE)
    team = access.team
    sources = [
        (Team, Q(pgh_obj_id=team.id)),
        (Membership, Q(team_id=team.id)),
        (ApiToken, Q(team_id=team.id)),
        (StaleRule, Q(team_id=team.id)),
        (Characteristic, Q(team_id=team.id)),
        (Tactic, Q(team_id=team.id)),
    ]
    back = (reverse("team_settings", args=[slug]), "Settings")
    title = "History of the team's settings"
    return _page(request, access, title=title, back=back, sources=sources, many=True)


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
@login_required
def team_history_csv(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    access = team_get_for_user(user=request.user, slug=slug, action=Action.MANAGE)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in history_csv_rows(team=access.team)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{slug}-history.csv"'
    return response
