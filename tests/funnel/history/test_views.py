"""The History pages show who changed what to whoever may read the page they belong to; the
team's CSV export is for its managers."""

import csv
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from funnel.deals.services import deal_details_update
from funnel.models import OperationalDefinition, Stage
from funnel.services import team_update
from funnel.stages.services import stage_targets_set
from tests.funnel.history.conftest import pg_only, sqlite_only

pytestmark = pytest.mark.django_db


@pytest.fixture
def changed_deal(deal, manager):
    deal_details_update(
        deal=deal,
        owner=deal.owner,
        account="Acme Europe",
        department="",
        source="",
        amount=deal.amount,
        by=manager,
    )
    return deal


def deal_url(deal):
    return reverse("deal_history", args=[deal.team.slug, deal.pk])


@pg_only
def test_the_deal_history_shows_the_change(login, rep, changed_deal, django_assert_max_num_queries):
    client = login(rep)
    with django_assert_max_num_queries(12):
        response = client.get(deal_url(changed_deal))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Acme → Acme Europe" in page
    assert "Created" in page and "$1,000" in page


def test_the_deal_history_is_404_for_an_outsider(login, outsider, deal):
    assert login(outsider).get(deal_url(deal)).status_code == 404


def test_the_deal_history_is_405_for_a_post(login, rep, deal):
    assert login(rep).post(deal_url(deal)).status_code == 405


def test_the_deal_history_asks_to_log_in(client, deal):
    assert client.get(deal_url(deal)).status_code == 302


@pg_only
def test_the_stage_history_shows_a_target_change(login, team, manager):
    stage = Stage.objects.get(team=team, slug="engaged")
    stage_targets_set(stage=stage, target_conversion=None, target_days=20, by=manager)
    stage_targets_set(stage=stage, target_conversion=None, target_days=14, by=manager)
    response = login(manager).get(reverse("stage_history", args=[team.slug, stage.slug]))
    assert response.status_code == 200
    assert "Target days in stage: 20 → 14" in response.content.decode()


def test_the_stage_history_is_403_for_a_rep(login, team, rep):
    url = reverse("stage_history", args=[team.slug, "engaged"])
    assert login(rep).get(url).status_code == 403


def test_the_stage_history_is_404_for_a_missing_stage(login, team, manager):
    url = reverse("stage_history", args=[team.slug, "no-such-stage"])
    assert login(manager).get(url).status_code == 404


def test_the_definition_history_is_readable_by_a_rep_and_404_outside(login, team, rep, outsider):
    definition = OperationalDefinition.objects.filter(team=team).first()
    url = reverse("definition_history", args=[team.slug, definition.slug])
    assert login(rep).get(url).status_code == 200
    assert login(outsider).get(url).status_code == 404


@pg_only
def test_the_team_settings_history_names_the_change(login, team, manager):
    team_update(team=team, name="North", winnable_min_difference=team.winnable_min_difference)
    response = login(manager).get(reverse("team_history", args=[team.slug]))
    assert response.status_code == 200
    assert "North Region → North" in response.content.decode()


def test_the_team_settings_history_is_403_for_a_rep(login, team, rep):
    assert login(rep).get(reverse("team_history", args=[team.slug])).status_code == 403


@sqlite_only
def test_on_sqlite_the_page_says_history_needs_postgresql(login, team, manager):
    response = login(manager).get(reverse("team_history", args=[team.slug]))
    assert "History is recorded on PostgreSQL" in response.content.decode()


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pg_only
def test_the_export_holds_the_team_rows_and_no_other_team(login, team, manager, changed_deal):
    response = login(manager).get(reverse("team_history_csv", args=[team.slug]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    changed = [r for r in rows if r["what"] == "Deal" and r["action"] == "Changed"]
    assert [(r["field"], r["old"], r["new"]) for r in changed] == [
        ("Account", "Acme", "Acme Europe")
    ]
    assert {r["what"] for r in rows} >= {"Deal", "Stage", "Member", "Team settings"}
    assert not any("South" in r["name"] for r in rows)


def test_the_export_is_403_for_a_rep_and_404_outside(login, team, rep, outsider):
    url = reverse("team_history_csv", args=[team.slug])
    assert login(rep).get(url).status_code == 403
    assert login(outsider).get(url).status_code == 404


@pg_only
def test_the_export_command_writes_the_same_rows(tmp_path, team, changed_deal):
    out = tmp_path / "history.csv"
    call_command("history_export", team=team.slug, out=str(out))
    rows = list(csv.DictReader(out.open()))
    assert ("Account", "Acme", "Acme Europe") in [(r["field"], r["old"], r["new"]) for r in rows]
