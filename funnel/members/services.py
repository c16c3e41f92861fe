"""Writes for team set-up: a new team, invitations, role changes and removals. One
transaction each; e-mail goes out after the commit."""

import logging
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from funnel.models import Invitation, Membership, Role, Team
from funnel.models.invitations import INVITATION_VALID_FOR
from funnel.services import membership_remove, membership_set, team_create

logger = logging.getLogger(__name__)


class InvitationRefused(Exception):
    """An invitation that cannot be accepted (any more), with the reason to show."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


def email_normalize(email: str) -> str:
    return get_user_model().objects.normalize_email(email.strip()).lower()


@dataclass(frozen=True)
class InvitationSent:
    invitation: Invitation
    link: str


@transaction.atomic
def invitation_create(
    *, team: Team, email: str, role: str, invited_by: AbstractBaseUser, site_url: str
) -> InvitationSent:
    """Invite an e-mail address to a team in a role and mail the link (on commit). A pending
    invitation of the same address to the same team is replaced: its link stops working."""
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    email = email_normalize(email)
    replaced, _ = Invitation.objects.filter(
        team=team, email=email, accepted_at__isnull=True
    ).delete()
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation = Invitation.objects.create(
        team=team,
        email=email,
        role=role,
        token_hash=Invitation.token_hash_of(token),
        invited_by=invited_by,
        created_at=now,
        expires_at=now + INVITATION_VALID_FOR,
    )
    link = site_url.rstrip("/") + reverse("invitation_accept", args=[token])
    inviter = invited_by.get_full_name() or invited_by.email
    expires = date_format(timezone.localtime(invitation.expires_at), "j M Y")
    body = (
        f"{inviter} invites you to join {team.name} on Sales Kaizen as "
        f"{Role(role).label.lower()}.\n\n"
        f"Open this link to set your name and password and join the team:\n{link}\n\n"
        f"The link works once, until {expires}. If you did not expect it, ignore this e-mail."
    )
    transaction.on_commit(
        lambda: send_mail(f"Join {team.name} on Sales Kaizen", body, None, [email])
    )
    logger.info(
        "invitation created team=%s email=%s role=%s by=%s replaced=%d",
        team.slug,
        email,
        role,
        invited_by.pk,
        replaced,
    )
    return InvitationSent(invitation=invitation, link=link)


def invitation_check(*, invitation: Invitation | None) -> Invitation:
    """The invitation if it can still be accepted; InvitationRefused (404/410) otherwise."""
    if invitation is None:
        raise InvitationRefused(
            "This invitation link is not valid. It may have been replaced by a newer "
            "invitation: use the link in the latest e-mail, or ask the team's manager to "
            "invite you again.",
            status=404,
        )
    if invitation.accepted_at is not None:
        raise InvitationRefused(
            "This invitation has already been used. Log in with the e-mail address and password "
            "you set then.",
            status=410,
        )
    if invitation.is_expired(now=timezone.now()):
        expired = date_format(timezone.localtime(invitation.expires_at), "j M Y")
        raise InvitationRefused(
            f"This invitation expired on {expired}. Ask the manager of {invitation.team.name} "
            "to invite you again.",
            status=410,
        )
    return invitation


def invitation_user_check(*, invitation: Invitation, user: AbstractBaseUser | None) -> None:
    """A logged-in user may accept only an invitation sent to their own address."""
    if user is None:
        return
    address = email_normalize(user.email or user.get_username())
    if address != invitation.email:
        raise InvitationRefused(
            f"This invitation is for {invitation.email}, and you are logged in as {address}. "
            "Log out, then open the link again.",
            status=403,
        )


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, user: AbstractBaseUser | None, name: str = "", password: str = ""
) -> tuple[Membership, AbstractBaseUser]:
    """Accept an invitation: as the logged-in user with the invited address, or, for someone
    without a password yet, by creating the account (or completing one created by add_member)
    with a name and a password. The membership takes the invited role."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    invitation_check(invitation=invitation)
    invitation_user_check(invitation=invitation, user=user)
    if user is None:
        user = _account_complete(email=invitation.email, name=name, password=password)
    membership = membership_set(team=invitation.team, user=user, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    logger.info(
        "invitation accepted team=%s user=%s role=%s",
        invitation.team.slug,
        user.pk,
        invitation.role,
    )
    return membership, user


def _account_complete(*, email: str, name: str, password: str) -> AbstractBaseUser:
    user_model = get_user_model()
    user = user_model.objects.filter(username=email).first()
    if user is not None and user.has_usable_password():
        raise InvitationRefused(
            f"An account for {email} already exists: log in first, then open the link again.",
            status=403,
        )
    if user is None:
        user = user_model(username=email, email=email)
    first, _, last = name.strip().partition(" ")
    user.first_name, user.last_name = first, last.strip()
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def team_create_with_manager(
    *, slug: str, name: str, creator: AbstractBaseUser, manager_email: str, site_url: str
) -> tuple[Team, InvitationSent | None]:
    """A new team with the default stages. Its manager is the creator, or, when another
    address is named, whoever accepts the invitation sent to it."""
    team = team_create(slug=slug, name=name.strip(), author=creator)
    manager_email = email_normalize(manager_email) if manager_email.strip() else ""
    creator_email = email_normalize(creator.email or creator.get_username())
    if not manager_email or manager_email == creator_email:
        membership_set(team=team, user=creator, role=Role.MANAGER)
        return team, None
    sent = invitation_create(
        team=team, email=manager_email, role=Role.MANAGER, invited_by=creator, site_url=site_url
    )
    return team, sent


class LastManager(ValidationError):
    pass


def _last_manager_guard(*, membership: Membership, doing: str) -> None:
    if membership.role != Role.MANAGER:
        return
    others = (
        Membership.objects.select_for_update()
        .filter(team=membership.team, role=Role.MANAGER)
        .exclude(pk=membership.pk)
    )
    if not others.exists():
        raise LastManager(
            f"{membership.user.get_full_name() or membership.user.email} is the last manager of "
            f"{membership.team.name}: make someone else manager before you {doing}."
        )


@transaction.atomic
def member_role_change(*, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    if role != Role.MANAGER:
        _last_manager_guard(membership=membership, doing="change this role")
    return membership_set(team=membership.team, user=membership.user, role=role)


@transaction.atomic
def member_remove(*, membership: Membership) -> None:
    _last_manager_guard(membership=membership, doing="remove them")
    membership_remove(membership=membership)
