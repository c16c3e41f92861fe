from django.contrib import admin, messages

from funnel.api.services import api_tokens_revoke
from funnel.models import (
    Agreement,
    ApiToken,
    Characteristic,
    Deal,
    DefinitionVersion,
    Membership,
    Observation,
    OperationalDefinition,
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


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Adding a token generates it and shows it once; only its hash is stored."""

    list_display = ["name", "prefix", "team", "created_at", "last_used_at", "is_revoked"]
    list_filter = ["team", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "team__name"]
    list_select_related = ["team"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["team", "name"]
        return ["team", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["team", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    @admin.display(boolean=True, description="revoked", ordering="revoked_at")
    def is_revoked(self, obj: ApiToken) -> bool:
        return obj.revoked_at is not None

    def save_model(self, request, obj: ApiToken, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, obj.prefix, obj.token_hash = ApiToken.generate()
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        self.message_user(
            request,
            f"The new token is {token} — copy it now: it is not shown again. "
            "Send it as the header Authorization: Bearer <token>.",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset) -> None:
        count = api_tokens_revoke(tokens=queryset)
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


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
