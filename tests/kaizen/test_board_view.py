"""The kaizen board: columns by phase, htmx filters, bottleneck start, role-aware controls."""

import pytest
from django.urls import reverse

from funnel.models import Stage
from kaizen.models import Phase
from kaizen.services.cycles import cycle_create


@pytest.fixture
def cycles(team, manager):
    proposal = Stage.objects.get(team=team, slug="proposal")
    qualified = Stage.objects.get(team=team, slug="qualified")
    made = [
        cycle_create(team=team, by=manager, title=f"Cycle {i}", stage=stage, metric="conversion")
        for i, stage in enumerate([proposal, proposal, qualified])
    ]
    made[1].phase = Phase.DO
    made[1].save()
    return made


def board_url(team):
    return reverse("kaizen:cycle_board", kwargs={"slug": team.slug})


def test_board_shows_cycles_in_phase_columns(
    login, manager, team, cycles, django_assert_max_num_queries
):
    client = login(manager)
    with django_assert_max_num_queries(14):
        response = client.get(board_url(team))
    assert response.status_code == 200
    columns = dict(response.context["columns"])
    assert [c.title for c in columns[Phase.PLAN]] == ["Cycle 2", "Cycle 0"]
    assert [c.title for c in columns[Phase.DO]] == ["Cycle 1"]
    assert "Start from scratch" in response.content.decode()


def test_htmx_filter_returns_only_the_board(login, rep, team, cycles):
    qualified = Stage.objects.get(team=team, slug="qualified")
    response = login(rep).get(
        board_url(team), {"stage": qualified.id}, headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="board"')
    assert "Cycle 2" in content and "Cycle 0" not in content
    assert "HX-Request" in response["Vary"]


def test_phase_filter_shows_one_column(login, executive, team, cycles):
    response = login(executive).get(board_url(team), {"phase": "do"})
    assert [p for p, _ in response.context["columns"]] == [Phase.DO]
    assert "Start from scratch" not in response.content.decode()


def test_invalid_filter_is_ignored(login, rep, team, cycles):
    response = login(rep).get(board_url(team), {"stage": "abc"})
    assert response.status_code == 200
    assert sum(len(c) for _, c in response.context["columns"]) == 3
