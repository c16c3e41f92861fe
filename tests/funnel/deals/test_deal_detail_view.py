from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from funnel.deals.services import observation_record
from funnel.ingest import deal_record_stage
from funnel.models import Stage, Tactic
from funnel.touches.services import touch_record


def url(deal):
    return reverse("deal_detail", kwargs={"slug": deal.team.slug, "deal_id": deal.id})


def test_owner_rep_sees_header_controls_and_panels(login, rep, rep_deal):
    response = login(rep).get(url(rep_deal))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Account D-100" in content and "D-100" in content and "12,000" in content
    assert "rita.rep@example.com" in content  # the owner (no full name set)
    assert "Advance to Qualified" in content and "Mark won" in content and "Mark lost" in content
    assert content.count('name="characteristic"') == len(response.context["states"])
    assert "HX-Request" in response["Vary"]


def test_history_merges_events_and_observations_newest_first(login, rep, rep_deal, yes_no):
    observation_record(deal=rep_deal, characteristic=yes_no, value="yes", by=rep, evidence="CFO")
    response = login(rep).get(url(rep_deal))
    kinds = [t.kind for t in response.context["timeline"]]
    assert kinds == ["observation", "stage", "stage"]
    content = response.content.decode()
    history = content[content.index('id="history"') :]
    assert (
        history.index("Decision maker reached")
        < history.index("Engaged")
        < history.index("Inquiry")
    )
    assert "CFO" in history and "Browser" in history


def test_current_value_is_the_latest_observation(login, rep, rep_deal, yes_no):
    observation_record(deal=rep_deal, characteristic=yes_no, value="no", by=rep)
    observation_record(deal=rep_deal, characteristic=yes_no, value="yes", by=rep)
    states = login(rep).get(url(rep_deal)).context["states"]
    state = next(s for s in states if s.characteristic == yes_no)
    assert (state.latest.value, state.count) == ("yes", 2)


def test_another_reps_deal_is_visible_without_controls(login, rep, other_deal):
    response = login(rep).get(url(other_deal))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Mark won" not in content and 'name="characteristic"' not in content
    assert "Only the deal's owner or a manager" in content


def test_manager_gets_controls_on_any_team_deal(login, manager, other_deal):
    content = login(manager).get(url(other_deal)).content.decode()
    assert "Mark won" in content and 'name="characteristic"' in content


def test_executive_sees_no_controls(login, executive, rep_deal):
    content = login(executive).get(url(rep_deal)).content.decode()
    assert "Read-only" in content
    assert "Mark won" not in content and 'name="characteristic"' not in content
    assert "deal_stage_record" not in content and "/stage/" not in content


def test_closed_deal_offers_reopening(login, rep, rep_deal, team):
    deal_record_stage(deal=rep_deal, outcome="lost", lost_reason="Price", by=rep)
    content = login(rep).get(url(rep_deal)).content.decode()
    assert "This deal is closed" in content and "Price" in content and "Reopen" in content
    assert "Advance to" not in content


def test_query_count_is_bounded(login, rep, rep_deal, team, yes_no, department):
    client = login(rep)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(rep_deal)).status_code == 200
        return len(captured)

    few = queries()
    for slug in ("qualified", "proposal", "negotiation"):
        deal_record_stage(deal=rep_deal, stage=Stage.objects.get(team=team, slug=slug), by=rep)
    for _ in range(5):
        observation_record(deal=rep_deal, characteristic=yes_no, value="yes", by=rep)
        observation_record(deal=rep_deal, characteristic=department, value="IT", by=rep)
        touch_record(deal=rep_deal, tactic=Tactic.objects.get(team=team, slug="call"), by=rep)
    assert queries() == few
    # +1: the top bar's list of the user's teams; +2: the touch panel (the tactic buttons, and
    # the recent touches with the deal's totals)
    assert few <= 13


def test_outsider_and_missing_deal_get_404(login, outsider, rep, rep_deal, other_team):
    assert login(outsider).get(url(rep_deal)).status_code == 404
    missing = reverse("deal_detail", kwargs={"slug": "north", "deal_id": 999999})
    assert login(rep).get(missing).status_code == 404
    # The deal's id under a team the user belongs to but the deal does not: 404 as well.
    wrong_team = reverse("deal_detail", kwargs={"slug": "south", "deal_id": rep_deal.id})
    assert login(outsider).get(wrong_team).status_code == 404


def test_anonymous_goes_to_login_and_post_is_405(client, login, rep, rep_deal):
    response = client.get(url(rep_deal))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert login(rep).post(url(rep_deal)).status_code == 405
