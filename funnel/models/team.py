"""Teams, their members and roles, and the stages of their funnel."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from funnel.models.audit import audited


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


@audited("TeamHistory", exclude=["created_at"])
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
    currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, like USD.")],
        help_text="ISO 4217 code of the currency deal amounts are in (USD, EUR, GBP ...).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


@audited("MembershipHistory", exclude=["created_at"])
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


class StageQuerySet(models.QuerySet):
    def in_funnel(self) -> "StageQuerySet":
        """The stages the figures count in: all but those merged into another."""
        return self.filter(merged_into__isnull=True)

    def taking_events(self) -> "StageQuerySet":
        """The stages new events and forms may name: neither retired nor merged."""
        return self.filter(merged_into__isnull=True, retired_at__isnull=True)


@audited("StageHistory")
class Stage(models.Model):
    """A stage a deal waits in. Won and lost are outcomes, not stages.

    The event log is append-only, so a stage is never deleted once it has events. A retired
    stage keeps its place and its history but takes no new events; a merged stage's events
    count, in all history, for the stage it was merged into (the passages read them as that
    stage: funnel.pipeline.passages), and it leaves the funnel.
    """

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
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text="Retired: kept for its history, takes no new events."
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_stages",
        help_text="Its events count for this stage, in all history.",
    )
    merged_at = models.DateTimeField(null=True, blank=True)

    objects = StageQuerySet.as_manager()

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
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("id")), name="stage_not_merged_into_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"

    @property
    def takes_events(self) -> bool:
        return self.retired_at is None and self.merged_into_id is None
