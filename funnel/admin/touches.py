"""Touches, tactics and the tactics page's counts in the admin: read-only. Touches arrive
through the API, imports and the deal page, and tactics change on the team's tactics page,
which version the response rule and mark the counts stale; an edit here would do neither."""

from django.contrib import admin

from funnel.admin.base import ReadOnlyAdmin, ReadOnlyTabularInline
from funnel.models import ProspectWeekCount, ResponseRule, Tactic, Touch, TouchWeekCount


class ResponseRuleInline(ReadOnlyTabularInline):
    model = ResponseRule
    fields = ["number", "window_days", "note", "author", "created_at"]
    readonly_fields = fields


@admin.register(Tactic)
class TacticAdmin(ReadOnlyAdmin):
    list_display = ["name", "team", "channel", "cost_per_touch", "is_active", "position"]
    list_filter = ["team", "channel", "is_active"]
    list_select_related = ["team"]
    search_fields = ["name", "slug", "team__name"]
    inlines = [ResponseRuleInline]


@admin.register(Touch)
class TouchAdmin(ReadOnlyAdmin):
    list_display = [
        "touch_id",
        "team",
        "tactic",
        "deal",
        "prospect",
        "occurred_at",
        "responded",
        "origin",
    ]
    list_filter = ["team", "origin", "responded"]
    list_select_related = ["team", "tactic", "deal"]
    search_fields = ["touch_id", "prospect", "deal__external_id"]
    # A million touches: no exact count on every page, and no date drill-down over them.
    show_full_result_count = False


@admin.register(TouchWeekCount)
class TouchWeekCountAdmin(ReadOnlyAdmin):
    """Kept by the recompute (funnel.pipeline.tactics)."""

    list_display = ["team", "tactic", "station", "week", "touches", "answers", "deals_answered"]
    list_filter = ["team", "station"]
    list_select_related = ["team", "tactic"]


@admin.register(ProspectWeekCount)
class ProspectWeekCountAdmin(ReadOnlyAdmin):
    """Kept by the recompute (funnel.pipeline.tactics)."""

    list_display = ["team", "station", "week", "at_least", "prospects", "answered"]
    list_filter = ["team", "station", "at_least"]
    list_select_related = ["team"]
