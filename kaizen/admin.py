from django.contrib import admin

from kaizen.models import (
    Agreement,
    Cycle,
    CycleEvent,
    CycleNote,
    DefinitionVersion,
    OperationalDefinition,
    StandardWork,
)


class DefinitionVersionInline(admin.StackedInline):
    model = DefinitionVersion
    extra = 0


@admin.register(OperationalDefinition)
class OperationalDefinitionAdmin(admin.ModelAdmin):
    list_display = ["term", "team", "created_at"]
    list_filter = ["team"]
    inlines = [DefinitionVersionInline]


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    list_display = ["user", "version", "agreed_at"]


class CycleNoteInline(admin.TabularInline):
    model = CycleNote
    extra = 0


class CycleEventInline(admin.TabularInline):
    model = CycleEvent
    extra = 0
    readonly_fields = ["actor", "action", "changes", "at"]


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
