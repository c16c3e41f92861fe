"""Team set-up pages: a new team (administrators), a team's members and invitations
(its managers), and the invitation link (anyone holding it)."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from funnel.members.forms import InvitationAcceptForm, InvitationForm, RoleForm, TeamNewForm
from funnel.members.selectors import (
    account_has_password,
    invitation_for_token,
    invitations_pending_for_team,
    members_access_for_user,
    members_for_team,
    membership_get_for_team,
    team_administrator_check,
)
from funnel.members.services import (
    InvitationRefused,
    invitation_accept,
    invitation_check,
    invitation_create,
    invitation_user_check,
    member_remove,
    member_role_change,
    team_create_with_manager,
)
from funnel.models import Role

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _site_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


@require_http_methods(["GET", "POST"])
@login_required
def team_new(request: HttpRequest) -> HttpResponse:
    team_administrator_check(user=request.user)
    form = TeamNewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team, sent = team_create_with_manager(
            slug=form.cleaned_data["slug"],
            name=form.cleaned_data["name"],
            creator=request.user,
            manager_email=form.cleaned_data["manager_email"],
            site_url=_site_url(request),
        )
        if sent is None:
            messages.success(request, f"{team.name} is set up, and you manage it.")
        else:
            messages.success(
                request, f"{team.name} is set up; {sent.invitation.email} is invited as manager."
            )
        return redirect("team_members", slug=team.slug)
    return render(request, "members/team_new.html", {"form": form})


def _members_page(request: HttpRequest, access, form: InvitationForm, status: int = 200):
    context = {
        "access": access,
        "team": access.team,
        "members": members_for_team(team=access.team),
        "invitations": invitations_pending_for_team(team=access.team),
        "form": form,
        "roles": Role.choices,
    }
    return render(request, "members/team_members.html", context, status=status)


@require_http_methods(["GET"])
@login_required
def team_members(request: HttpRequest, slug: str) -> HttpResponse:
    access = members_access_for_user(user=request.user, slug=slug)
    return _members_page(request, access, InvitationForm())


@require_POST
@login_required
def member_invite(request: HttpRequest, slug: str) -> HttpResponse:
    access = members_access_for_user(user=request.user, slug=slug)
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _members_page(request, access, form, status=400)
    sent = invitation_create(
        team=access.team,
        email=form.cleaned_data["email"],
        role=form.cleaned_data["role"],
        invited_by=request.user,
        site_url=_site_url(request),
    )
    messages.success(request, f"Invitation sent to {sent.invitation.email}.")
    return redirect("team_members", slug=access.team.slug)


@require_POST
@login_required
def member_role(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    access = members_access_for_user(user=request.user, slug=slug)
    membership = membership_get_for_team(team=access.team, membership_id=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose rep, manager or executive.")
    else:
        try:
            member_role_change(membership=membership, role=form.cleaned_data["role"])
            label = Role(form.cleaned_data["role"]).label.lower()
            messages.success(request, f"{membership.user.email} is now {label}.")
        except ValidationError as error:
            messages.error(request, error.messages[0])
    return redirect("team_members", slug=access.team.slug)


@require_POST
@login_required
def member_delete(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    access = members_access_for_user(user=request.user, slug=slug)
    membership = membership_get_for_team(team=access.team, membership_id=membership_id)
    try:
        member_remove(membership=membership)
        messages.success(request, f"{membership.user.email} is no longer on {access.team.name}.")
    except ValidationError as error:
        messages.error(request, error.messages[0])
    return redirect("team_members", slug=access.team.slug)


def _refused(request: HttpRequest, refused: InvitationRefused) -> HttpResponse:
    return render(
        request, "members/invitation_refused.html", {"reason": str(refused)}, status=refused.status
    )


@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    user = request.user if request.user.is_authenticated else None
    try:
        invitation = invitation_check(invitation=invitation_for_token(token=token))
        invitation_user_check(invitation=invitation, user=user)
    except InvitationRefused as refused:
        return _refused(request, refused)
    needs_login = user is None and account_has_password(email=invitation.email)
    form = None
    if user is None and not needs_login:
        form = InvitationAcceptForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and not needs_login and (form is None or form.is_valid()):
        data = form.cleaned_data if form is not None else {}
        try:
            membership, member = invitation_accept(
                invitation=invitation,
                user=user,
                name=data.get("name", ""),
                password=data.get("password1", ""),
            )
        except InvitationRefused as refused:
            return _refused(request, refused)
        if user is None:
            login(request, member, backend=BACKEND)
        messages.success(request, f"Welcome to {membership.team.name}.")
        return redirect("team_overview", slug=membership.team.slug)
    context = {"invitation": invitation, "form": form, "needs_login": needs_login}
    return render(request, "members/invitation.html", context)
