"""The admin shows the logs and verdicts read-only, and what it may change goes through the
services: a deal's details (never its team or position), stage targets, a new team."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from funnel.deals.services import observation_record
from funnel.definitions.services import definition_agree
from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import (
    Agreement,
    BottleneckStatus,
    Deal,
    DefinitionVersion,
    Membership,
    Observation,
    RecomputeState,
    StageEvent,
    Team,
)
from funnel.pipeline.run import team_recompute

pytestmark = pytest.mark.django_db

START = timezone.now() - dt.timedelta(days=10)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # admin_client and the fixture users get passwords, which is not what these tests are about.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def deal(team, rep):
    stage_events_ingest(
        team=team,
        origin="api",
        schedule_recompute=False,
        events=[
            EventIn(
                event_id="d1",
                deal_external_id="D-1",
                occurred_at=START,
                stage="inquiry",
                owner_email=rep.email,
                account="Acme",
                amount=Decimal("1000"),
            ),
            EventIn(event_id="d2", deal_external_id="D-1", occurred_at=START, stage="engaged"),
        ],
    )
    return Deal.objects.get(team=team, external_id="D-1")


@pytest.fixture
def rows(team, rep, deal):
    """One row of each read-only model, written by the services."""
    observation_record(
        deal=deal,
        characteristic=team.characteristics.get(slug="budget-confirmed"),
        value="yes",
        by=rep,
    )
    team_recompute(team=team)
    version = DefinitionVersion.objects.filter(definition__team=team).first()
    definition_agree(version=version, user=rep)
    return {
        "stageevent": StageEvent.objects.filter(deal=deal).first(),
        "observation": Observation.objects.get(deal=deal),
        "bottleneckstatus": BottleneckStatus.objects.get(team=team),
        "definitionversion": version,
        "agreement": Agreement.objects.get(user=rep),
        "characteristic": team.characteristics.get(slug="budget-confirmed"),
        "operationaldefinition": version.definition,
    }


READ_ONLY = [
    "stageevent",
    "observation",
    "bottleneckstatus",
    "definitionversion",
    "agreement",
    "characteristic",
    "operationaldefinition",
]


def admin_url(model: str, view: str, *args) -> str:
    return reverse(f"admin:funnel_{model}_{view}", args=args)


@pytest.mark.parametrize("model", READ_ONLY)
def test_read_only_list_and_detail_pages_render_without_a_way_to_change(admin_client, rows, model):
    listing = admin_client.get(admin_url(model, "changelist"))
    assert listing.status_code == 200
    assert admin_url(model, "add").encode() not in listing.content
    detail = admin_client.get(admin_url(model, "change", rows[model].pk))
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert admin_url(model, "delete", rows[model].pk).encode() not in detail.content


@pytest.mark.parametrize("model", READ_ONLY)
def test_read_only_models_refuse_add_change_and_delete(admin_client, rows, model):
    row = rows[model]
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.post(admin_url(model, "change", row.pk), {}).status_code == 403
    assert admin_client.get(admin_url(model, "delete", row.pk)).status_code == 403
    assert admin_client.post(admin_url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()


def test_the_bulk_delete_action_is_not_offered_for_events(admin_client, rows):
    event = rows["stageevent"]
    response = admin_client.post(
        admin_url("stageevent", "changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert StageEvent.objects.filter(pk=event.pk).exists()
    assert b"delete_selected" not in admin_client.get(admin_url("stageevent", "changelist")).content
    assert response.status_code in (200, 302)


def deal_post(deal, **changes) -> dict:
    data = {
        "owner": deal.owner_id or "",
        "account": deal.account,
        "department": deal.department,
        "source": deal.source,
        "amount": deal.amount if deal.amount is not None else "",
    }
    return {**data, **changes}


def test_deal_detail_shows_team_and_position_read_only(admin_client, deal):
    response = admin_client.get(admin_url("deal", "change", deal.pk))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert sorted(form.fields) == ["account", "amount", "department", "owner", "source"]


def test_a_deal_cannot_be_moved_to_another_team_nor_its_position_changed(
    admin_client, deal, other_team
):
    before = Deal.objects.values().get(pk=deal.pk)
    response = admin_client.post(
        admin_url("deal", "change", deal.pk),
        deal_post(
            deal,
            team=other_team.pk,
            external_id="MOVED",
            status="won",
            current_stage=other_team.stages.first().pk,
            closed_at="2020-01-01 00:00:00",
        ),
    )
    assert response.status_code == 302
    after = Deal.objects.values().get(pk=deal.pk)
    assert after == before  # nothing but ignored fields was sent


def test_a_deal_edit_goes_through_the_service_and_schedules_the_recompute(
    admin_client, deal, team, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(
            admin_url("deal", "change", deal.pk),
            deal_post(deal, owner=manager.pk, account="  Acme Europe ", amount="1234.5"),
        )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.owner_id, deal.account, deal.amount) == (
        manager.pk,
        "Acme Europe",
        Decimal("1234.50"),
    )
    assert deal.team_id == team.pk and deal.status == "open"
    assert len(callbacks) == 1
    assert RecomputeState.objects.get(team=team).runs == 1


def test_a_deal_saved_unchanged_schedules_nothing(
    admin_client, deal, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(admin_url("deal", "change", deal.pk), deal_post(deal))
    assert response.status_code == 302
    assert callbacks == []


def test_a_deal_owner_from_outside_the_team_is_refused_on_the_form(admin_client, deal, outsider):
    response = admin_client.post(
        admin_url("deal", "change", deal.pk), deal_post(deal, owner=outsider.pk)
    )
    assert response.status_code == 200
    assert (
        "The owner must be a rep or manager of the deal&#x27;s team." in response.content.decode()
    )
    deal.refresh_from_db()
    assert deal.owner_id != outsider.pk


def test_deals_are_neither_added_nor_deleted_here(admin_client, deal):
    assert admin_client.get(admin_url("deal", "add")).status_code == 403
    assert (
        admin_client.post(admin_url("deal", "delete", deal.pk), {"post": "yes"}).status_code == 403
    )
    assert Deal.objects.filter(pk=deal.pk).exists()


def stage_post(stage, **changes) -> dict:
    data = {
        "position": stage.position,
        "slug": stage.slug,
        "name": stage.name,
        "station": stage.station,
        "definition": stage.definition_id or "",
        "target_conversion": stage.target_conversion or "",
        "target_days": stage.target_days or "",
    }
    return {**data, **changes}


def test_stage_target_edit_goes_through_the_service_and_reaches_the_verdict(
    admin_client, team, deal, django_capture_on_commit_callbacks, caplog
):
    stage = team.stages.get(slug="engaged")
    with (
        caplog.at_level("INFO", logger="funnel.stages.services"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = admin_client.post(
            admin_url("stage", "change", stage.pk), stage_post(stage, target_days="3")
        )
    assert response.status_code == 302
    stage.refresh_from_db()
    assert stage.target_days == 3
    assert any(r.getMessage().startswith("stage targets") for r in caplog.records)
    status = BottleneckStatus.objects.filter(team=team).latest("computed_at", "id")
    engaged = next(f for f in status.figures["flow"] if f["slug"] == "engaged")
    assert engaged["target_days"] == 3


def test_stage_target_out_of_range_is_refused_on_the_form(admin_client, team):
    stage = team.stages.get(slug="engaged")
    response = admin_client.post(
        admin_url("stage", "change", stage.pk), stage_post(stage, target_days="400")
    )
    assert response.status_code == 200
    assert "between 1 and 365" in response.content.decode()


def team_post(team, **stage_changes) -> dict:
    """The team's change form as the browser sends it, with changes to stages by slug."""
    stages = list(team.stages.order_by("position"))
    memberships = list(team.memberships.all())
    data = {
        "name": team.name,
        "slug": team.slug,
        "winnable_min_difference": str(team.winnable_min_difference),
        "stages-TOTAL_FORMS": len(stages),
        "stages-INITIAL_FORMS": len(stages),
        "stages-MIN_NUM_FORMS": 0,
        "stages-MAX_NUM_FORMS": 1000,
        "memberships-TOTAL_FORMS": len(memberships),
        "memberships-INITIAL_FORMS": len(memberships),
        "memberships-MIN_NUM_FORMS": 0,
        "memberships-MAX_NUM_FORMS": 1000,
    }
    for i, stage in enumerate(stages):
        fields = stage_post(stage, **stage_changes.get(stage.slug, {}))
        data.update({f"stages-{i}-{name}": value for name, value in fields.items()})
        data.update({f"stages-{i}-id": stage.pk, f"stages-{i}-team": team.pk})
    for i, membership in enumerate(memberships):
        data.update(
            {
                f"memberships-{i}-id": membership.pk,
                f"memberships-{i}-team": team.pk,
                f"memberships-{i}-user": membership.user_id,
                f"memberships-{i}-role": membership.role,
            }
        )
    return data


def test_stage_edits_in_the_team_page_schedule_the_recompute(
    admin_client, team, rep, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(
            admin_url("team", "change", team.pk),
            team_post(
                team,
                qualified={"target_conversion": "0.5"},
                proposal={"name": "Written proposal"},
            ),
        )
    assert response.status_code == 302, response.context["errors"]
    assert team.stages.get(slug="qualified").target_conversion == Decimal("0.5")
    assert team.stages.get(slug="proposal").name == "Written proposal"
    assert len(callbacks) == 2  # one per stage changed; one run (debounced) takes both
    assert RecomputeState.objects.get(team=team).runs >= 1


def test_a_team_page_saved_unchanged_schedules_nothing(
    admin_client, team, rep, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(admin_url("team", "change", team.pk), team_post(team))
    assert response.status_code == 302
    assert callbacks == []


def test_a_team_added_here_gets_the_default_stages(admin_client, team):
    response = admin_client.post(admin_url("team", "add"), {"name": "West", "slug": "west"})
    assert response.status_code == 302
    west = Team.objects.get(slug="west")
    assert response["Location"] == admin_url("team", "changelist")
    assert list(west.stages.values_list("slug", flat=True)) == list(
        team.stages.values_list("slug", flat=True)
    )
    assert west.characteristics.count() == team.characteristics.count()


def test_a_membership_added_here_goes_through_the_service(admin_client, team, outsider, caplog):
    caplog.set_level("INFO", logger="funnel.services")
    response = admin_client.post(
        admin_url("membership", "add"), {"user": outsider.pk, "team": team.pk, "role": "rep"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(user=outsider, team=team).role == "rep"
    assert f"membership set team={team.slug} user={outsider.pk} role=rep new=True" in caplog.text


def test_a_role_changed_and_a_member_removed_here_go_through_the_services(
    admin_client, team, rep, caplog
):
    caplog.set_level("INFO", logger="funnel.services")
    membership = Membership.objects.get(user=rep, team=team)
    change = admin_url("membership", "change", membership.pk)
    response = admin_client.post(change, {"user": rep.pk, "team": team.pk, "role": "manager"})
    assert response.status_code == 302
    assert Membership.objects.get(pk=membership.pk).role == "manager"
    delete = admin_url("membership", "delete", membership.pk)
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert f"membership removed team={team.slug} user={rep.pk}" in caplog.text


def test_a_team_keeps_its_slug_when_renamed_here(admin_client, team):
    response = admin_client.post(
        admin_url("team", "change", team.pk),
        {**team_post(team), "name": "North", "slug": "x", "winnable_min_difference": "0.10"},
    )
    assert response.status_code == 302
    team.refresh_from_db()
    assert (team.name, team.slug) == ("North", "north")
    assert str(team.winnable_min_difference) == "0.10"


def test_a_minimum_difference_out_of_range_is_refused(admin_client, team):
    response = admin_client.post(
        admin_url("team", "change", team.pk),
        {**team_post(team), "winnable_min_difference": "0.95"},
    )
    assert response.status_code == 200
    assert "less than or equal to 0.90" in response.content.decode()
    team.refresh_from_db()
    assert str(team.winnable_min_difference) == "0.05"
