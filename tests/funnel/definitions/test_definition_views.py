"""Definition pages: list, detail (current version, history, roster), new version, agree."""

import pytest
from django.urls import reverse

from funnel.models import Agreement, DefinitionVersion


def detail_url(team, slug="stage-proposal"):
    return reverse(
        "definitions:definition_detail", kwargs={"slug": team.slug, "definition_slug": slug}
    )


def test_list_shows_stage_and_characteristic_definitions(
    login, rep, team, django_assert_max_num_queries
):
    client = login(rep)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("definitions:definition_list", kwargs={"slug": team.slug}))
    assert response.status_code == 200
    stage_slugs = [d.slug for d in response.context["stage_definitions"]]
    assert stage_slugs[:3] == ["stage-inquiry", "stage-engaged", "stage-qualified"]  # funnel order
    assert len(stage_slugs) == 6
    assert response.context["asked"] == 1  # the rep; no manager in this test
    assert response.context["other_definitions"]
    assert b"stage-proposal" in response.content


def test_detail_shows_current_version_history_and_who_has_not_agreed(login, rep, manager, team):
    response = login(rep).get(detail_url(team))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Observable criteria" in content
    assert "Version history" in content
    assert "0</strong> of 2 sellers and managers" in content
    assert "I agree to v1" in content
    assert "not yet" in content


def test_executive_reads_without_edit_controls(login, executive, team):
    content = login(executive).get(detail_url(team)).content.decode()
    assert "Write a new version" not in content
    assert "I agree" not in content


def test_manager_writes_a_new_version(login, manager, team):
    client = login(manager)
    url = reverse(
        "definitions:definition_edit",
        kwargs={"slug": team.slug, "definition_slug": "stage-proposal"},
    )
    assert "Save as new version" in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "meaning": "The budget owner asked for a written proposal.",
            "criteria": "- Budget owner requested it\n\n- Decision date agreed",
            "how_measured": "Date of the request.",
        },
    )
    assert response.status_code == 302
    versions = DefinitionVersion.objects.filter(
        definition__slug="stage-proposal", definition__team=team
    )
    latest = versions.order_by("-number").first()
    assert latest.number == 2
    assert latest.criteria == ["Budget owner requested it", "Decision date agreed"]
    page = client.get(detail_url(team)).content.decode()
    assert "Decision date agreed" in page and "<ins>" in page and "<del>" in page


def test_new_version_with_no_change_is_refused(login, manager, team):
    client = login(manager)
    url = reverse(
        "definitions:definition_edit",
        kwargs={"slug": team.slug, "definition_slug": "stage-proposal"},
    )
    initial = client.get(url).context["form"].initial
    response = client.post(url, {k: v for k, v in initial.items()})
    assert response.status_code == 200
    assert "Nothing changed" in response.content.decode()


def test_agree_with_htmx_returns_the_agreement_panel(login, rep, team):
    url = reverse(
        "definitions:definition_agree",
        kwargs={"slug": team.slug, "definition_slug": "stage-proposal"},
    )
    response = login(rep).post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="agreement"')
    assert "You agree to v1" in content
    assert "HX-Request" in response["Vary"]
    assert Agreement.objects.filter(user=rep, version__number=1).count() == 1


def test_agree_without_htmx_redirects(login, manager, team):
    url = reverse(
        "definitions:definition_agree",
        kwargs={"slug": team.slug, "definition_slug": "stage-proposal"},
    )
    response = login(manager).post(url)
    assert response.status_code == 302
    assert Agreement.objects.filter(user=manager).exists()


@pytest.mark.parametrize("slug", ["no-such-term"])
def test_missing_definition_is_404(login, rep, team, slug):
    assert login(rep).get(detail_url(team, slug)).status_code == 404
