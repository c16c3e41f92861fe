"""Operational definitions: versioned meanings that sellers and managers agree to."""

from django.conf import settings
from django.db import models

from funnel.models.audit import audited
from funnel.models.team import Team


@audited("DefinitionHistory", exclude=["created_at"])
class OperationalDefinition(models.Model):
    """A term ("qualified lead") whose meaning is written down as an observable test."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="definitions")
    slug = models.SlugField(max_length=60)
    term = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "term"]
        constraints = [
            models.UniqueConstraint(fields=["team", "slug"], name="definition_slug_unique_per_team")
        ]

    def __str__(self) -> str:
        return self.term

    @property
    def current_version(self) -> "DefinitionVersion | None":
        return self.versions.order_by("-number").first()


@audited("DefinitionVersionHistory", exclude=["created_at"])
class DefinitionVersion(models.Model):
    """One version of a definition. Versions are never edited: an edit is a new version."""

    definition = models.ForeignKey(
        OperationalDefinition, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    meaning = models.TextField()
    criteria = models.JSONField(default=list, help_text="Observable criteria, one per item.")
    how_measured = models.TextField(blank=True)
    examples = models.TextField(blank=True)
    non_examples = models.TextField(blank=True)
    effective_from = models.DateField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["definition", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["definition", "number"], name="definition_version_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.definition} v{self.number}"


class Agreement(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agreements"
    )
    version = models.ForeignKey(
        DefinitionVersion, on_delete=models.CASCADE, related_name="agreements"
    )
    agreed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "version"], name="agreement_once_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.user} agreed to {self.version}"


@audited("StaleRuleHistory", exclude=["created_at"])
class StaleRule(models.Model):
    """One version of a team's stale-deal rule: "an open deal with no event for `days` days
    counts as lost (stale)", or off (`days` empty). Versions are never edited: a change is a new
    version, so the history says who changed it, when, from what and to what.

    The version in force (the latest whose effective date has come) applies to the whole
    history when the passages are derived; no rule at all is the default: off.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="stale_rules")
    number = models.PositiveIntegerField()
    days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Days without an event; empty: the rule is off."
    )
    effective_from = models.DateField()
    note = models.CharField(max_length=300, blank=True)
    proposed = models.BooleanField(
        default=False, help_text="Accepted from the proposal computed from the team's data."
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "number"]
        constraints = [
            models.UniqueConstraint(fields=["team", "number"], name="stale_rule_number_unique"),
            models.CheckConstraint(
                condition=models.Q(days__isnull=True) | models.Q(days__gte=1),
                name="stale_rule_days_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team} stale rule v{self.number}: {self.days or 'off'}"
