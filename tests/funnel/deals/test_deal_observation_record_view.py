from django.urls import reverse

from funnel.models import Characteristic, Observation, Origin


def url(deal):
    return reverse("deal_observation_record", kwargs={"slug": deal.team.slug, "deal_id": deal.id})


def test_one_click_yes_with_evidence_plain_post(
    login, rep, rep_deal, yes_no, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = login(rep).post(
            url(rep_deal),
            {"characteristic": yes_no.id, "value": "yes", "evidence": "CFO joined the demo."},
        )
    assert response.status_code == 302
    (o,) = Observation.objects.all()
    assert (o.deal, o.characteristic, o.value, o.evidence) == (
        rep_deal,
        yes_no,
        "yes",
        "CFO joined the demo.",
    )
    assert (o.observed_by, o.origin) == (rep, Origin.UI)
    assert len(callbacks) == 1
    page = login(rep).get(response["Location"]).content.decode()
    assert "Decision maker reached: yes recorded." in page


def test_htmx_returns_the_panel_and_history_out_of_band(login, rep, rep_deal, department):
    response = login(rep).post(
        url(rep_deal),
        {"characteristic": department.id, "value": "Finance"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="observations"')
    assert "<html" not in content
    assert (
        'id="history" class="card history" aria-labelledby="history-title" hx-swap-oob="true"'
        in content
    )
    history = content[content.index('id="history"') :]
    assert "Prospect department" in history and "Finance" in history
    assert "HX-Request" in response["Vary"]


def test_invalid_value_shows_a_clear_error_and_writes_nothing(login, rep, rep_deal, yes_no, team):
    client = login(rep)
    response = client.post(
        url(rep_deal),
        {"characteristic": yes_no.id, "value": "perhaps", "evidence": "keep me"},
        headers={"HX-Request": "true"},
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "Decision maker reached is yes or no, not &#x27;perhaps&#x27;." in content
    assert "keep me" in content  # the note survives the error
    assert "hx-swap-oob" not in content
    seats = Characteristic.objects.create(team=team, slug="seats", name="Seats", kind="number")
    response = client.post(url(rep_deal), {"characteristic": seats.id, "value": "lots"})
    assert response.status_code == 422
    assert "Seats is a number, not &#x27;lots&#x27;." in response.content.decode()
    assert not Observation.objects.exists()


def test_unknown_or_foreign_characteristic_is_refused(login, rep, rep_deal, other_team):
    foreign = Characteristic.objects.get(team=other_team, slug="pain-quantified")
    response = login(rep).post(url(rep_deal), {"characteristic": foreign.id, "value": "yes"})
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert not Observation.objects.exists()


def test_rep_cannot_record_on_another_reps_deal(login, rep, other_deal, yes_no):
    response = login(rep).post(url(other_deal), {"characteristic": yes_no.id, "value": "yes"})
    assert response.status_code == 403
    assert not Observation.objects.exists()


def test_manager_records_on_any_team_deal(login, manager, other_deal, yes_no):
    response = login(manager).post(url(other_deal), {"characteristic": yes_no.id, "value": "no"})
    assert response.status_code == 302
    assert Observation.objects.get().observed_by == manager


def test_executive_403_outsider_404_anonymous_login(
    client, login, executive, outsider, rep_deal, yes_no
):
    data = {"characteristic": yes_no.id, "value": "yes"}
    anonymous = client.post(url(rep_deal), data)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert login(executive).post(url(rep_deal), data).status_code == 403
    assert login(outsider).post(url(rep_deal), data).status_code == 404
    assert not Observation.objects.exists()


def test_get_is_not_allowed(login, rep, rep_deal):
    assert login(rep).get(url(rep_deal)).status_code == 405
