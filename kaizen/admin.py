from django.contrib import admin

from funnel.admin import ReadOnlyAdmin, ReadOnlyTabularInline
from kaizen.models import Cycle, CycleEvent, CycleNote, StandardWork


class CycleNoteInline(ReadOnlyTabularInline):
    model = CycleNote
    fields = ["created_at", "author", "body"]
    readonly_fields = fields


class CycleEventInline(ReadOnlyTabularInline):
    """The cycle's history is written by the cycle services, never edited."""

    model = CycleEvent
    fields = ["at", "actor", "action", "changes"]
    readonly_fields = fields


@admin.register(Cycle)
class CycleAdmin(ReadOnlyAdmin):
    """Cycles move through their phases on the kaizen pages, by the cycle services' rules (a
    committed plan is frozen, the Check is computed); the admin only shows them."""

    list_display = ["title", "team", "phase", "stage", "owner", "updated_at"]
    list_filter = ["team", "phase"]
    inlines = [CycleNoteInline, CycleEventInline]


@admin.register(StandardWork)
class StandardWorkAdmin(ReadOnlyAdmin):
    """Standard work is adopted by closing a cycle with its Act decision."""

    list_display = ["text", "team", "stage", "adopted_at"]
    list_filter = ["team"]


@admin.register(CycleEvent)
class CycleEventAdmin(ReadOnlyAdmin):
    list_display = ["cycle", "action", "actor", "at"]
    list_filter = ["action"]
    list_select_related = ["cycle", "actor"]
