from django.contrib import admin

from funnel.models import (
    Characteristic,
    Deal,
    Membership,
    Observation,
    Stage,
    StageEvent,
    Team,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = [
        "position",
        "slug",
        "name",
        "station",
        "definition",
        "target_conversion",
        "target_days",
    ]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StageInline, MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "user__email", "team__name"]
    autocomplete_fields = ["user"]


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "position", "station", "target_conversion", "target_days"]
    list_filter = ["team", "station"]
    ordering = ["team", "position"]


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = ["external_id", "team", "account", "owner", "status", "current_stage", "amount"]
    list_filter = ["team", "status"]
    search_fields = ["external_id", "account"]
    list_select_related = ["team", "owner", "current_stage"]
    raw_id_fields = ["owner"]
    readonly_fields = [
        "status",
        "lost_reason",
        "current_stage",
        "stage_entered_at",
        "opened_at",
        "closed_at",
    ]


class AppendOnlyAdmin(admin.ModelAdmin):
    """The logs are append-only: the admin shows them but changes nothing."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(StageEvent)
class StageEventAdmin(AppendOnlyAdmin):
    list_display = ["event_id", "team", "deal", "stage", "outcome", "occurred_at", "origin"]
    list_filter = ["team", "origin", "outcome"]
    search_fields = ["event_id", "deal__external_id"]
    list_select_related = ["team", "deal", "stage"]


@admin.register(Characteristic)
class CharacteristicAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "kind", "is_active"]
    list_filter = ["team", "kind"]


@admin.register(Observation)
class ObservationAdmin(AppendOnlyAdmin):
    list_display = ["deal", "characteristic", "value", "observed_by", "observed_at"]
    list_select_related = ["deal", "characteristic", "observed_by"]
