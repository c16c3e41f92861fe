"""Aggregates for "what makes deals winnable": closed and won deals per characteristic value and
close month, kept by the recompute so the analysis page never reads raw observations."""

from django.db import models
from django.db.models import Q

from funnel.models.deals import Characteristic
from funnel.models.team import Team


class WinnableDimension(models.TextChoices):
    # The deal's latest observation of a characteristic at or before it closed.
    CHARACTERISTIC = "characteristic", "Characteristic"
    # The deal's own department field (from the CRM or the import), not an observation.
    DEPARTMENT = "department", "Deal department"
    # Every closed deal of the month: the team's overall win rate and each characteristic's
    # coverage (closed deals never observed for it).
    ALL = "all", "All closed deals"


class WinnableCount(models.Model):
    """Closed deals, won deals and won value for one value in one close month (UTC)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="winnable_counts")
    dimension = models.CharField(max_length=16, choices=WinnableDimension.choices)
    characteristic = models.ForeignKey(
        Characteristic,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="winnable_counts",
    )
    value = models.CharField(max_length=200, blank=True)
    month = models.DateField(help_text="First day of the deals' close month.")
    closed = models.PositiveIntegerField()
    won = models.PositiveIntegerField()
    won_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        ordering = ["team", "dimension", "characteristic", "value", "month"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dimension__in=WinnableDimension.values),
                name="winnable_count_dimension_valid",
            ),
            models.CheckConstraint(
                condition=Q(
                    dimension=WinnableDimension.CHARACTERISTIC, characteristic__isnull=False
                )
                | (~Q(dimension=WinnableDimension.CHARACTERISTIC) & Q(characteristic__isnull=True)),
                name="winnable_count_characteristic_iff_dimension",
            ),
            models.CheckConstraint(
                condition=Q(won__lte=models.F("closed")), name="winnable_won_le_closed"
            ),
            models.UniqueConstraint(
                fields=["team", "characteristic", "value", "month"],
                condition=Q(characteristic__isnull=False),
                name="winnable_count_unique_characteristic",
            ),
            models.UniqueConstraint(
                fields=["team", "dimension", "value", "month"],
                condition=Q(characteristic__isnull=True),
                name="winnable_count_unique_other",
            ),
        ]
        indexes = [models.Index(fields=["team", "month"], name="winnable_count_team_month")]

    def __str__(self) -> str:
        return (
            f"{self.team_id} {self.dimension} {self.value} {self.month}: {self.won}/{self.closed}"
        )
