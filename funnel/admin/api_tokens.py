"""API tokens in the admin: adding one generates it and shows it once; revoking is an action."""

from django.contrib import admin, messages

from funnel.api.services import api_tokens_revoke
from funnel.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Adding a token generates it and shows it once; only its hash is stored."""

    list_display = [
        "name",
        "prefix",
        "team",
        "can_manage",
        "created_at",
        "last_used_at",
        "is_revoked",
    ]
    list_filter = ["team", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "team__name"]
    list_select_related = ["team"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["team", "name", "can_manage"]
        return [
            "team",
            "name",
            "can_manage",
            "prefix",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]

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
