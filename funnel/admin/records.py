"""What the app writes and the admin only shows: verdicts, definition versions, agreements and
each team's recompute state."""

from django.contrib import admin

from funnel.admin.base import ReadOnlyAdmin, ReadOnlyTabularInline
from funnel.models import (
    Agreement,
    BottleneckStatus,
    DefinitionVersion,
    OperationalDefinition,
    RecomputeState,
)


@admin.register(BottleneckStatus)
class BottleneckStatusAdmin(ReadOnlyAdmin):
    list_display = ["team", "verdict", "station", "stage", "gap_per_week", "computed_at"]
    list_filter = ["verdict", "team"]
    list_select_related = ["team", "stage"]


class DefinitionVersionInline(ReadOnlyTabularInline):
    """A version is never edited: an edit is a new version (funnel.definitions)."""

    model = DefinitionVersion
    fields = ["number", "meaning", "effective_from", "author", "created_at"]
    readonly_fields = fields


@admin.register(DefinitionVersion)
class DefinitionVersionAdmin(ReadOnlyAdmin):
    list_display = ["definition", "number", "effective_from", "author", "created_at"]
    list_select_related = ["definition", "author"]


@admin.register(OperationalDefinition)
class OperationalDefinitionAdmin(ReadOnlyAdmin):
    """A definition changes by a new version, written on its page in the app."""

    list_display = ["term", "team", "created_at"]
    list_filter = ["team"]
    inlines = [DefinitionVersionInline]


@admin.register(Agreement)
class AgreementAdmin(ReadOnlyAdmin):
    list_display = ["user", "version", "agreed_at"]


@admin.register(RecomputeState)
class RecomputeStateAdmin(ReadOnlyAdmin):
    """Per team: the last recompute, and the failure that froze its figures, if any."""

    list_display = [
        "team",
        "finished_at",
        "watermark",
        "runs",
        "tactics_at",
        "tactics_stale",
        "failed_at",
        "failure",
    ]
    list_filter = [("failed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["team"]
