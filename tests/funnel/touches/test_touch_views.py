"""The one-tap touch on the deal page and its answer toggle: who may, what is stored, what the
htmx fragment shows. The same rule as recording a stage move: a rep on own deals, a manager on
any of the team's, an executive never, an outsider sees nothing (404)."""

import pytest
from django.urls import reverse

from funnel.models import Touch
from funnel.touches.services import touch_record

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def record_url(deal):
    return reverse("touch_record", args=[deal.team.slug, deal.id])


def response_url(touch):
    return reverse("touch_response", args=[touch.deal.team.slug, touch.deal_id, touch.id])


def test_a_rep_logs_a_call_on_own_deal_in_one_tap(login, rep, rep_deal):
    response = login(rep).post(record_url(rep_deal), {"tactic": "call"}, headers=HTMX)
    assert response.status_code == 200
    touch = Touch.objects.get()
    assert (touch.deal, touch.tactic.slug, touch.channel, touch.recorded_by) == (
        rep_deal,
        "call",
        "phone",
        rep,
    )
    assert touch.responded is None and touch.origin == "ui"
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="touches-panel"')  # the fragment only
    assert "Call logged." in html
    assert f'data-touch="{touch.id}"' in html and "They answered" in html
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_without_htmx_the_touch_redirects_to_the_deal(login, rep, rep_deal):
    response = login(rep).post(record_url(rep_deal), {"tactic": "email"})
    assert response.status_code == 302
    assert response["Location"] == reverse("deal_detail", args=["north", rep_deal.id])
    page = login(rep).get(response["Location"])
    assert "E-mail logged." in page.content.decode()
    assert 'data-tactic="email"' in page.content.decode()


def test_a_manager_logs_on_any_deal_of_the_team(login, manager, other_deal):
    assert login(manager).post(record_url(other_deal), {"tactic": "meeting"}).status_code == 302
    assert Touch.objects.get().recorded_by == manager


@pytest.mark.parametrize(
    "who, deal, status",
    [("rep", "other_deal", 403), ("executive", "rep_deal", 403), ("outsider", "rep_deal", 404)],
)
def test_who_may_not_log_a_touch(request, login, who, deal, status):
    user, deal = request.getfixturevalue(who), request.getfixturevalue(deal)
    response = login(user).post(record_url(deal), {"tactic": "call"}, headers=HTMX)
    assert response.status_code == status
    assert Touch.objects.count() == 0


def test_get_is_not_allowed(login, rep, rep_deal):
    assert login(rep).get(record_url(rep_deal)).status_code == 405


def test_an_unknown_or_retired_tactic_is_refused(login, rep, rep_deal, team):
    team.tactics.filter(slug="linkedin").update(is_active=False)
    for slug in ("carrier-pigeon", "linkedin"):
        response = login(rep).post(record_url(rep_deal), {"tactic": slug}, headers=HTMX)
        assert response.status_code == 422
        assert "not one of the team" in response.content.decode()
    assert Touch.objects.count() == 0


def test_the_service_refuses_another_teams_tactic(rep, rep_deal, other_team):
    with pytest.raises(ValueError):
        touch_record(deal=rep_deal, tactic=other_team.tactics.first(), by=rep)
    assert Touch.objects.count() == 0


def test_the_rep_marks_the_touch_answered_and_can_undo_it(login, rep, rep_deal):
    client = login(rep)
    client.post(record_url(rep_deal), {"tactic": "call"}, headers=HTMX)
    touch = Touch.objects.get()
    response = client.post(response_url(touch), {"responded": "yes"}, headers=HTMX)
    assert response.status_code == 200
    touch.refresh_from_db()
    assert touch.responded is True and touch.responded_at is not None
    assert 'aria-pressed="true"' in response.content.decode()
    assert "1 touch, 1 answered" in response.content.decode()
    client.post(response_url(touch), {"responded": "clear"}, headers=HTMX)
    touch.refresh_from_db()
    assert (touch.responded, touch.responded_at) == (None, None)


def test_answers_follow_the_same_rights(login, rep, manager, executive, other_deal):
    login(manager).post(record_url(other_deal), {"tactic": "call"})
    touch = Touch.objects.get()
    assert login(rep).post(response_url(touch), {"responded": "yes"}).status_code == 403
    assert login(executive).post(response_url(touch), {"responded": "yes"}).status_code == 403
    touch.refresh_from_db()
    assert touch.responded is None


def test_a_touch_of_another_deal_is_404(login, rep, rep_deal, manager, other_deal):
    login(manager).post(record_url(other_deal), {"tactic": "call"})
    touch = Touch.objects.get()
    url = reverse("touch_response", args=["north", rep_deal.id, touch.id])
    assert login(rep).post(url, {"responded": "yes"}).status_code == 404


def test_the_deal_page_shows_the_buttons_only_to_who_may_log(login, rep, executive, rep_deal):
    page = login(rep).get(reverse("deal_detail", args=["north", rep_deal.id])).content.decode()
    assert "Log a touch" in page and 'name="tactic" value="call"' in page
    page = login(executive).get(reverse("deal_detail", args=["north", rep_deal.id]))
    assert 'name="tactic"' not in page.content.decode()
