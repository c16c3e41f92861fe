"""Operational definitions: versioned meanings that sellers and managers agree to."""

from django.conf import settings
from django.db import models

from funnel.models.team import Team


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
