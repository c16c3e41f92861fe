from django.urls import reverse

from funnel.models import DealStatus, Origin, Stage, StageEvent


def url(deal):
    return reverse("deal_stage_record", kwargs={"slug": deal.team.slug, "deal_id": deal.id})


def ui_events(deal):
    return list(StageEvent.objects.filter(deal=deal, origin=Origin.UI, recorded_by__isnull=False))


def test_rep_moves_own_deal_plain_post_redirects(
    login, rep, rep_deal, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = login(rep).post(url(rep_deal), {"action": "stage", "stage": "qualified"})
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "deal_detail", kwargs={"slug": "north", "deal_id": rep_deal.id}
    )
    rep_deal.refresh_from_db()
    assert rep_deal.current_stage.slug == "qualified" and rep_deal.status == DealStatus.OPEN
    (event,) = ui_events(rep_deal)
    assert (event.origin, event.recorded_by, event.stage.slug) == (Origin.UI, rep, "qualified")
    assert len(callbacks) == 1  # the recompute was scheduled on commit
    page = login(rep).get(response["Location"]).content.decode()
    assert "Moved to Qualified." in page


def test_htmx_returns_the_panel_and_swaps_header_and_history_out_of_band(login, rep, rep_deal):
    response = login(rep).post(
        url(rep_deal), {"action": "stage", "stage": "proposal"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="stage-panel"')
    assert "<html" not in content and "Moved to Proposal." in content
    assert 'id="deal-head" class="card deal-head" hx-swap-oob="true"' in content
    assert 'id="history"' in content and content.count('hx-swap-oob="true"') == 2
    assert "Advance to Negotiation" in content
    assert "HX-Request" in response["Vary"]


def test_mark_won_and_mark_lost_with_reason(login, rep, rep_deal, team):
    client = login(rep)
    client.post(url(rep_deal), {"action": "won"})
    rep_deal.refresh_from_db()
    assert rep_deal.status == DealStatus.WON
    # Reopen, then lose it with a reason.
    client.post(url(rep_deal), {"action": "stage", "stage": "negotiation"})
    client.post(url(rep_deal), {"action": "lost", "lost_reason": " Chose a competitor "})
    rep_deal.refresh_from_db()
    assert (rep_deal.status, rep_deal.lost_reason) == (DealStatus.LOST, "Chose a competitor")
    assert [e.outcome or e.stage.slug for e in ui_events(rep_deal)] == [
        "won",
        "negotiation",
        "lost",
    ]


def test_lost_needs_a_reason_and_a_move_needs_a_known_stage(login, rep, rep_deal):
    client = login(rep)
    response = client.post(url(rep_deal), {"action": "lost", "lost_reason": " "})
    assert response.status_code == 422
    assert "Say why it was lost" in response.content.decode()
    response = client.post(
        url(rep_deal), {"action": "stage", "stage": "nowhere"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200  # htmx swaps 200 only: the panel shows the error
    assert "Select a valid choice" in response.content.decode()
    assert "hx-swap-oob" not in response.content.decode()
    response = client.post(url(rep_deal), {"action": "teleport"})
    assert response.status_code == 422
    assert not ui_events(rep_deal)


def test_another_teams_stage_is_refused(login, rep, rep_deal, other_team):
    foreign = Stage.objects.get(team=other_team, slug="proposal")
    response = login(rep).post(url(rep_deal), {"action": "stage", "stage": foreign.slug})
    rep_deal.refresh_from_db()
    # The slug resolves within the deal's own team only.
    assert rep_deal.current_stage.team_id == rep_deal.team_id
    assert response.status_code == 302


def test_rep_cannot_move_another_reps_deal(login, rep, other_deal):
    response = login(rep).post(url(other_deal), {"action": "won"})
    assert response.status_code == 403
    assert not ui_events(other_deal)


def test_manager_moves_any_team_deal(login, manager, other_deal):
    assert login(manager).post(url(other_deal), {"action": "won"}).status_code == 302
    (event,) = ui_events(other_deal)
    assert event.recorded_by == manager


def test_executive_gets_403_outsider_404_anonymous_login(
    client, login, executive, outsider, rep_deal
):
    anonymous = client.post(url(rep_deal), {"action": "won"})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert login(executive).post(url(rep_deal), {"action": "won"}).status_code == 403
    assert login(outsider).post(url(rep_deal), {"action": "won"}).status_code == 404
    assert not ui_events(rep_deal)


def test_get_is_not_allowed(login, rep, rep_deal):
    assert login(rep).get(url(rep_deal)).status_code == 405


def test_deleting_the_user_who_moved_a_deal_keeps_the_event_without_its_author(
    login, rep, manager, rep_deal
):
    # No database foreign key on recorded_by (each check cost imports a lock per event): the
    # ORM's SET_NULL must still clear it, and the deal page must show the history.
    login(rep).post(url(rep_deal), {"action": "stage", "stage": "qualified"})
    (event,) = ui_events(rep_deal)
    rep.delete()
    event.refresh_from_db()
    assert event.recorded_by_id is None and event.stage.slug == "qualified"
    page = login(manager).get(
        reverse("deal_detail", kwargs={"slug": "north", "deal_id": rep_deal.id})
    )
    assert page.status_code == 200 and "Qualified" in page.content.decode()
