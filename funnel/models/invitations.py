"""Invitations to join a team: the link's token is stored only as its hash."""

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

from funnel.models.team import Role, Team

INVITATION_VALID_FOR = timedelta(days=7)


class Invitation(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    # sha256 of the token in the link; the token itself is only in the e-mail.
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "email"],
                condition=Q(accepted_at__isnull=True),
                name="invitation_one_pending_per_team_email",
            ),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="invitation_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.email} as {self.get_role_display()} of {self.team}"

    @staticmethod
    def token_hash_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def is_expired(self, *, now: datetime) -> bool:
        return now >= self.expires_at
