"""The admin: a window on the data for operators. What changes the figures goes through the
services (a deal's details, a stage's targets, a new team), and every stage edit schedules the
team's recompute; the logs, the verdicts and the definition versions are read-only.
funnel.admin.touches holds the touches, tactics and the tactics page's counts; api_tokens the
API tokens; records the read-only verdicts, definitions and recompute states."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from funnel.admin import api_tokens, records, touches  # noqa: F401 (each registers its models)
from funnel.admin.base import ReadOnlyAdmin
from funnel.admin.base import ReadOnlyTabularInline as ReadOnlyTabularInline  # for kaizen.admin
from funnel.deals.selectors import deal_dates_out_of_range
from funnel.deals.services import (
    deal_delete_out_of_range,
    deal_details_update,
    deal_details_validate,
)
from funnel.models import (
    Characteristic,
    Deal,
    Membership,
    Observation,
    Stage,
    StageEvent,
    Team,
)
from funnel.pipeline.request import team_recompute_on_commit
from funnel.services import (
    membership_remove,
    membership_set,
    team_create,
    team_delete,
    team_update,
)
from funnel.stages.services import MAX_TARGET_DAYS, stage_targets_set


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


TARGET_FIELDS = ("target_conversion", "target_days")


class StageAdminForm(forms.ModelForm):
    def clean_target_days(self):
        days = self.cleaned_data["target_days"]
        if days is not None and not 1 <= days <= MAX_TARGET_DAYS:
            raise ValidationError(f"Enter a number of days between 1 and {MAX_TARGET_DAYS}.")
        return days


def stage_admin_save(*, stage: Stage, changed: list[str], by) -> None:
    """An admin edit of a stage: its own fields (name, position, station...) saved here, its
    targets through stage_targets_set, which schedules the team's recompute either way."""
    if stage.pk is None or set(changed) - set(TARGET_FIELDS):
        stage.save()
    stage_targets_set(
        stage=stage,
        target_conversion=stage.target_conversion,
        target_days=stage.target_days,
        by=by,
    )


class StageInline(admin.TabularInline):
    model = Stage
    form = StageAdminForm
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
    """A new team comes from team_create, with the default stages and characteristics; its
    stages and members are edited once it exists."""

    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StageInline, MembershipInline]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_readonly_fields(self, request, obj=None):
        return ["slug", "created_at"] if obj is not None else []

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if obj is None else {}

    def get_fields(self, request, obj=None):
        if obj is None:  # a new team gets the default settings; they are changed afterwards
            return ["name", "slug"]
        return ["name", "slug", "created_at", "winnable_min_difference"]

    def save_model(self, request, obj: Team, form, change: bool) -> None:
        if change:
            team_update(
                team=obj, name=obj.name, winnable_min_difference=obj.winnable_min_difference
            )
            return
        team = team_create(slug=obj.slug, name=obj.name, author=request.user)
        obj.pk, obj.created_at = team.pk, team.created_at
        obj._state.adding = False

    # Through team_delete: the only path that may delete from the append-only event log.
    def delete_model(self, request, obj: Team) -> None:
        team_delete(team=obj)

    def delete_queryset(self, request, queryset) -> None:
        for team in queryset:
            team_delete(team=team)

    def save_formset(self, request, form, formset, change: bool) -> None:
        if formset.model is Membership:
            memberships_admin_save(formset)
            return
        if formset.model is not Stage:
            super().save_formset(request, form, formset, change)
            return
        formset.save(commit=False)
        for stage in formset.deleted_objects:
            stage.delete()
        for stage in formset.new_objects:
            stage_admin_save(stage=stage, changed=[], by=request.user)
        for stage, changed in formset.changed_objects:
            stage_admin_save(stage=stage, changed=changed, by=request.user)
        if formset.deleted_objects:
            team_recompute_on_commit(team_id=form.instance.pk)


def memberships_admin_save(formset) -> None:
    """The members inline of a team, through the membership services."""
    formset.save(commit=False)
    for membership in formset.deleted_objects:
        membership_remove(membership=membership)
    for membership in [*formset.new_objects, *(m for m, _ in formset.changed_objects)]:
        membership_set(team=membership.team, user=membership.user, role=membership.role)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "user__email", "team__name"]
    autocomplete_fields = ["user"]

    def save_model(self, request, obj: Membership, form, change: bool) -> None:
        saved = membership_set(team=obj.team, user=obj.user, role=obj.role)
        obj.pk, obj.created_at = saved.pk, saved.created_at
        obj._state.adding = False

    def delete_model(self, request, obj: Membership) -> None:
        membership_remove(membership=obj)

    def delete_queryset(self, request, queryset) -> None:
        for membership in queryset.select_related("team"):
            membership_remove(membership=membership)


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    form = StageAdminForm
    list_display = ["name", "team", "position", "station", "target_conversion", "target_days"]
    list_filter = ["team", "station"]
    ordering = ["team", "position"]

    def get_readonly_fields(self, request, obj=None):
        return ["team"] if obj is not None else []

    def save_model(self, request, obj: Stage, form, change: bool) -> None:
        stage_admin_save(stage=obj, changed=form.changed_data, by=request.user)

    def delete_model(self, request, obj: Stage) -> None:
        team_id = obj.team_id
        super().delete_model(request, obj)
        team_recompute_on_commit(team_id=team_id)

    def delete_queryset(self, request, queryset) -> None:
        team_ids = set(queryset.values_list("team_id", flat=True))
        super().delete_queryset(request, queryset)
        for team_id in team_ids:
            team_recompute_on_commit(team_id=team_id)


DEAL_DETAILS = ("owner", "account", "department", "source", "amount")


class DealAdminForm(forms.ModelForm):
    """The admin's deal form checks what deal_details_update would refuse, so the page says so
    instead of failing on save."""

    def clean(self):
        cleaned = super().clean()
        if set(DEAL_DETAILS) <= cleaned.keys():
            deal_details_validate(
                deal=self.instance, **{name: cleaned[name] for name in DEAL_DETAILS}
            )
        return cleaned


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    """Deals come into being with their first event (API, CSV, browser) and leave with their
    log, so they are neither added nor deleted here; their team, CRM id and position (derived
    from the events) are shown, and the details the CRM sends go through deal_details_update.

    The exception: a deal whose dates no boundary would let in (a row written around them) can
    be deleted with its log, one at a time, so bad data never stays stuck in a team."""

    form = DealAdminForm
    list_display = ["external_id", "team", "account", "owner", "status", "current_stage", "amount"]
    list_filter = ["team", "status"]
    search_fields = ["external_id", "account"]
    list_select_related = ["team", "owner", "current_stage"]
    raw_id_fields = ["owner"]
    fields = [
        "team",
        "external_id",
        *DEAL_DETAILS,
        "status",
        "lost_reason",
        "current_stage",
        "stage_entered_at",
        "opened_at",
        "closed_at",
        "last_event_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [name for name in fields if name not in DEAL_DETAILS]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return obj is not None and deal_dates_out_of_range(deal=obj)

    def get_deleted_objects(self, objs, request):
        # The log goes with the deal although events are never deleted on their own here.
        deleted, counts, _, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request, obj: Deal) -> None:
        deal_delete_out_of_range(deal=obj, by=request.user)

    def save_model(self, request, obj: Deal, form, change: bool) -> None:
        deal_details_update(
            deal=obj, by=request.user, **{name: form.cleaned_data[name] for name in DEAL_DETAILS}
        )


@admin.register(StageEvent)
class StageEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "team", "deal", "stage", "outcome", "occurred_at", "origin"]
    list_filter = ["team", "origin", "outcome"]
    search_fields = ["event_id", "deal__external_id"]
    list_select_related = ["team", "deal", "stage"]


@admin.register(Characteristic)
class CharacteristicAdmin(ReadOnlyAdmin):
    """Managers add and retire characteristics on the team's characteristics page."""

    list_display = ["name", "team", "kind", "is_active"]
    list_filter = ["team", "kind"]


@admin.register(Observation)
class ObservationAdmin(ReadOnlyAdmin):
    list_display = ["deal", "characteristic", "value", "observed_by", "observed_at"]
    list_select_related = ["deal", "characteristic", "observed_by"]
