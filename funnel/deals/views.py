"""The rep's screens. One template per page serves the full page and its htmx fragments."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from funnel.deals.forms import LOST_REASONS, DealFilterForm, ObservationForm, StageChangeForm
from funnel.deals.selectors import (
    OWNER_ALL,
    OWNER_ME,
    characteristic_states,
    characteristics_active_for_team,
    deal_annotate_age,
    deal_can_record,
    deal_events,
    deal_get_for_user_by_slug,
    deal_observations,
    deal_timeline,
    deals_annotate_missing,
    deals_for_team,
    deals_totals,
    owners_for_team,
)
from funnel.deals.services import observation_record
from funnel.ingest import IngestRejected, deal_record_stage
from funnel.models import Characteristic, Deal, Outcome, Role
from funnel.selectors import Action, TeamAccess, stages_for_team, team_get_for_user
from funnel.touches.selectors import touch_panel_for_deal

PAGE_SIZE = 50
TEMPLATE = "deals/deal_detail.html"


@require_GET
@login_required
def deal_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug)
    stages = list(stages_for_team(team=access.team))
    form = DealFilterForm(
        request.GET or None,
        stages=stages,
        owners=owners_for_team(team=access.team),
        default_owner=OWNER_ME if access.role == Role.REP else OWNER_ALL,
    )
    filters = form.filters()
    deals = deals_for_team(team=access.team, user=request.user, filters=filters)
    totals = deals_totals(deals=deals)
    paginator = Paginator(deals, PAGE_SIZE)
    paginator.count = totals["count"]  # already counted with the amount; saves a query
    page = paginator.get_page(request.GET.get("page"))
    characteristics = characteristics_active_for_team(team=access.team, with_definitions=False)
    deals_annotate_missing(deals=list(page.object_list), characteristics=characteristics)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "access": access,
        "team": access.team,
        "form": form,
        "filters": filters,
        "page": page,
        "totals": totals,
        "query": query.urlencode(),
        "characteristics": characteristics,
    }
    template = "deals/deal_list.html" + ("#deal-results" if request.htmx else "")
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@login_required
def deal_detail(request: HttpRequest, slug: str, deal_id: int) -> HttpResponse:
    deal, access = deal_get_for_user_by_slug(user=request.user, slug=slug, deal_id=deal_id)
    return _deal_page(request, deal, access)


@require_POST
@login_required
def deal_stage_record(request: HttpRequest, slug: str, deal_id: int) -> HttpResponse:
    deal, access = deal_get_for_user_by_slug(
        user=request.user, slug=slug, deal_id=deal_id, action=Action.RECORD
    )
    form = StageChangeForm(request.POST, stages=stages_for_team(team=deal.team))
    if form.is_valid():
        action, stage = form.cleaned_data["action"], form.cleaned_data["stage"]
        try:
            deal_record_stage(
                deal=deal,
                stage=stage if action == StageChangeForm.ACTION_STAGE else None,
                outcome=None if action == StageChangeForm.ACTION_STAGE else action,
                lost_reason=form.cleaned_data["lost_reason"].strip(),
                by=request.user,
            )
        except IngestRejected as rejected:
            for error in rejected.errors:
                form.add_error(None, error.message)
        else:
            return _after_write(request, deal, access, "stage-panel", _stage_message(action, stage))
    return _deal_page(request, deal, access, stage_form=form, partial="stage-panel")


@require_POST
@login_required
def deal_observation_record(request: HttpRequest, slug: str, deal_id: int) -> HttpResponse:
    deal, access = deal_get_for_user_by_slug(
        user=request.user, slug=slug, deal_id=deal_id, action=Action.RECORD
    )
    active = Characteristic.objects.filter(team=deal.team, is_active=True)
    form = ObservationForm(request.POST, characteristics=active)
    if form.is_valid():
        characteristic = form.cleaned_data["characteristic"]
        try:
            observation = observation_record(
                deal=deal,
                characteristic=characteristic,
                value=form.cleaned_data["value"],
                evidence=form.cleaned_data["evidence"],
                by=request.user,
            )
        except ValidationError as invalid:
            for field, errors in invalid.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            message = f"{characteristic.name}: {observation.value} recorded."
            return _after_write(
                request, deal, access, "observations-panel", message, saved_id=characteristic.id
            )
    return _deal_page(request, deal, access, observation_form=form, partial="observations-panel")


def _stage_message(action: str, stage) -> str:
    if action == Outcome.WON:
        return "Marked won. Well done."
    if action == Outcome.LOST:
        return "Marked lost; the reason is in the history."
    return f"Moved to {stage.name}."


def _after_write(request, deal: Deal, access: TeamAccess, partial: str, message: str, **extra):
    """Plain POST: redirect (post/redirect/get). htmx: the updated panel, plus the header and
    the history swapped out of band, since a write changes both."""
    if not request.htmx:
        messages.success(request, message)
        return redirect("deal_detail", slug=deal.team.slug, deal_id=deal.id)
    deal.refresh_from_db()
    return _deal_page(
        request, deal, access, partial=partial, saved_message=message, saved_panel=partial, **extra
    )


def _deal_page(
    request: HttpRequest,
    deal: Deal,
    access: TeamAccess,
    *,
    partial: str = "",
    stage_form: StageChangeForm | None = None,
    observation_form: ObservationForm | None = None,
    saved_message: str = "",
    saved_id: int | None = None,
    saved_panel: str = "",
) -> HttpResponse:
    context = _deal_context(request, deal, access)
    context.update(
        stage_form=stage_form,
        observation_form=observation_form,
        saved_message=saved_message,
        saved_id=saved_id,
        saved_panel=saved_panel,
    )
    invalid = bool(
        (stage_form and stage_form.errors) or (observation_form and observation_form.errors)
    )
    if observation_form is not None and observation_form.errors:
        # The card of the characteristic that was posted shows the errors and keeps the input.
        posted = observation_form.cleaned_data.get("characteristic")
        context["obs_error_id"] = posted.id if posted else None
        context["obs_errors"] = [m for ms in observation_form.errors.values() for m in ms]
    if request.htmx and partial:
        html = render_to_string(f"{TEMPLATE}#{partial}", context, request=request)
        if not invalid:
            context["oob"] = True
            for other in ("deal-head", "history"):
                html += render_to_string(f"{TEMPLATE}#{other}", context, request=request)
        response = HttpResponse(html)
    else:
        response = render(request, TEMPLATE, context, status=422 if invalid else 200)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _deal_context(request: HttpRequest, deal: Deal, access: TeamAccess) -> dict:
    stages = list(stages_for_team(team=deal.team))
    characteristics = characteristics_active_for_team(team=deal.team)
    observations = deal_observations(deal=deal)
    states = characteristic_states(characteristics=characteristics, observations=observations)
    deal.missing = [s.characteristic for s in states if s.latest is None]
    deal_annotate_age(deal=deal)
    current = next((i for i, s in enumerate(stages) if s.id == deal.current_stage_id), None)
    return {
        "access": access,
        "team": deal.team,
        "deal": deal,
        "stages": stages,
        "current_index": current,
        "next_stage": stages[current + 1]
        if current is not None and current + 1 < len(stages)
        else (stages[0] if current is None and stages else None),
        "can_record": deal_can_record(access=access, deal=deal, user=request.user),
        "states": states,
        "timeline": deal_timeline(events=deal_events(deal=deal), observations=observations),
        "lost_reasons": LOST_REASONS,
        **touch_panel_for_deal(deal=deal),
    }
