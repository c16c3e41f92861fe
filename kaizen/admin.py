from django.contrib import admin

from funnel.admin import ReadOnlyAdmin, ReadOnlyTabularInline
from kaizen.models import Cycle, CycleEvent, CycleNote, StandardWork


class CycleNoteInline(admin.TabularInline):
    model = CycleNote
    extra = 0


class CycleEventInline(ReadOnlyTabularInline):
    """The cycle's history is written by the cycle services, never edited."""

    model = CycleEvent
    fields = ["at", "actor", "action", "changes"]
    readonly_fields = fields


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "phase", "stage", "owner", "updated_at"]
    list_filter = ["team", "phase"]
    # The baseline is frozen when the plan is committed; the admin only shows it.
    readonly_fields = [
        "baseline_from",
        "baseline_to",
        "baseline_value",
        "baseline_low",
        "baseline_high",
        "baseline_successes",
        "baseline_n",
        "baseline_limits",
        "committed_at",
        "check_result",
        "checked_at",
    ]
    inlines = [CycleNoteInline, CycleEventInline]


@admin.register(StandardWork)
class StandardWorkAdmin(admin.ModelAdmin):
    list_display = ["text", "team", "stage", "adopted_at"]
    list_filter = ["team"]


@admin.register(CycleEvent)
class CycleEventAdmin(ReadOnlyAdmin):
    list_display = ["cycle", "action", "actor", "at"]
    list_filter = ["action"]
    list_select_related = ["cycle", "actor"]
