"""Teams, their members and roles, and the stages of their funnel."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    REP = "rep", "Rep"
    MANAGER = "manager", "Manager"
    EXECUTIVE = "executive", "Executive"


class Station(models.TextChoices):
    """The five stations of the sales production system (DESIGN.md §1)."""

    MARKET = "market", "Market"
    MARKETING = "marketing", "Marketing"
    QUALIFYING = "qualifying", "Nurturing & qualifying"
    SELLING = "selling", "Selling"
    SERVICING = "servicing", "Servicing"


class Team(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)
    winnable_min_difference = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.05"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("0.90"))],
        help_text="Smallest difference in win rate (0.05 = 5 points) that the winnable "
        "analysis calls more or less winnable; smaller ones are too small to matter.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_one_role_per_team"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.team}"


class Stage(models.Model):
    """A stage a deal waits in. Won and lost are outcomes, not stages."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="stages")
    slug = models.SlugField(max_length=50)
    name = models.CharField(max_length=80)
    position = models.PositiveSmallIntegerField(help_text="Order in the funnel, 1 first.")
    station = models.CharField(max_length=16, choices=Station.choices)
    definition = models.ForeignKey(
        "funnel.OperationalDefinition",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stages",
    )
    target_conversion = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Target share of decided deals that advance to the next stage (0–1).",
    )
    target_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Target days a deal stays in this stage."
    )

    class Meta:
        ordering = ["team", "position"]
        constraints = [
            models.UniqueConstraint(fields=["team", "slug"], name="stage_slug_unique_per_team"),
            models.UniqueConstraint(
                fields=["team", "position"], name="stage_position_unique_per_team"
            ),
            models.CheckConstraint(
                condition=Q(station__in=Station.values), name="stage_station_valid"
            ),
            models.CheckConstraint(
                condition=Q(target_conversion__isnull=True)
                | Q(target_conversion__gt=0, target_conversion__lte=1),
                name="stage_target_conversion_in_0_1",
            ),
            models.CheckConstraint(
                condition=~Q(slug__in=["won", "lost"]), name="stage_slug_not_an_outcome"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"
