"""Operational definitions: list, detail with history and agreements, edit, agree."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from funnel.definitions.forms import DefinitionVersionForm, StaleRuleForm
from funnel.definitions.selectors import (
    definition_get,
    definition_history,
    definition_roster,
    definitions_for_team,
)
from funnel.definitions.services import definition_agree, definition_version_create
from funnel.definitions.stale import (
    rule_words,
    stale_rule_history,
    stale_rule_in_force,
    stale_rule_proposal,
    stale_rule_set,
    team_is_imported_history,
)
from funnel.models import Membership, Role
from funnel.selectors import Action, team_get_for_user


@require_GET
@login_required
def definition_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug)
    definitions = definitions_for_team(team=access.team)
    context = {
        "access": access,
        "team": access.team,
        "stage_definitions": sorted(
            (d for d in definitions if d.stages.all()),
            key=lambda d: min(s.position for s in d.stages.all()),
        ),
        "asked": Membership.objects.filter(
            team=access.team, role__in=[Role.REP, Role.MANAGER]
        ).count(),
        "other_definitions": [d for d in definitions if not d.stages.all()],
    }
    stale = stale_rule_in_force(team=access.team)
    context |= {"stale_rule": stale, "stale_rule_words": rule_words(stale.days if stale else None)}
    return render(request, "definitions/definition_list.html", context)


def _detail_context(request: HttpRequest, access, definition) -> dict:
    history = definition_history(definition=definition)
    current = history[0].version if history else None
    roster = definition_roster(definition=definition, current=current)
    return {
        "access": access,
        "team": access.team,
        "definition": definition,
        "current": current,
        "history": history,
        "roster": roster,
        "agreed_count": sum(1 for line in roster if line.current),
        "i_agreed": any(
            line.current and line.membership.user_id == request.user.pk for line in roster
        ),
        "stages": definition.stages.all(),
        "characteristics": definition.characteristics.all(),
    }


@require_GET
@login_required
def definition_detail(request: HttpRequest, slug: str, definition_slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug)
    definition = definition_get(team=access.team, slug=definition_slug)
    context = _detail_context(request, access, definition)
    return render(request, "definitions/definition_detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def definition_edit(request: HttpRequest, slug: str, definition_slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug, action=Action.MANAGE)
    definition = definition_get(team=access.team, slug=definition_slug)
    current = definition.current_version
    form = DefinitionVersionForm(
        request.POST or None, initial=DefinitionVersionForm.initial_from(current)
    )
    if request.method == "POST" and form.is_valid():
        try:
            version = definition_version_create(
                definition=definition, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, f"Saved as version {version.number}. Everyone is asked to agree again."
            )
            return redirect(
                "definitions:definition_detail", slug=slug, definition_slug=definition.slug
            )
    context = {
        "access": access,
        "team": access.team,
        "definition": definition,
        "current": current,
        "form": form,
    }
    return render(request, "definitions/definition_edit.html", context)


@require_POST
@login_required
def definition_agree_view(request: HttpRequest, slug: str, definition_slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug, action=Action.RECORD)
    definition = definition_get(team=access.team, slug=definition_slug)
    current = definition.current_version
    if current is None:
        raise Http404("This definition has no version to agree to.")
    try:
        definition_agree(version=current, user=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    if not request.htmx:
        return redirect("definitions:definition_detail", slug=slug, definition_slug=definition.slug)
    context = _detail_context(request, access, definition)
    response = render(request, "definitions/definition_detail.html#agreement", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_http_methods(["GET", "POST"])
@login_required
def stale_rule(request: HttpRequest, slug: str) -> HttpResponse:
    """The team's stale-deal rule: in force, its history, and for an imported history the N
    proposed from the data. Everyone sees it; only the manager changes it."""
    action = Action.MANAGE if request.method == "POST" else Action.VIEW
    access = team_get_for_user(user=request.user, slug=slug, action=action)
    team = access.team
    imported = team_is_imported_history(team=team)
    proposal = stale_rule_proposal(team=team) if imported else None
    in_force = stale_rule_in_force(team=team)
    days_now = in_force.days if in_force else None
    form = StaleRuleForm(
        request.POST or None, initial={"rule": "on" if days_now else "off", "days": days_now}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            stale_rule_set(
                team=team,
                days=data["days"],
                by=request.user,
                effective_from=data["effective_from"],
                note=data["note"],
                proposed=bool(data["proposed"] and proposal and proposal.days == data["days"]),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, f"{rule_words(data['days'])}. The team's figures are being recomputed."
            )
            return redirect("definitions:stale_rule", slug=slug)
    context = {
        "access": access,
        "team": team,
        "form": form,
        "in_force": in_force,
        "in_force_words": rule_words(days_now),
        "history": stale_rule_history(team=team),
        "imported": imported,
        "proposal": proposal,
    }
    status = 422 if form.errors else 200
    return render(request, "definitions/stale_rule.html", context, status=status)
