"""The stale-deal rule page: versioned like a definition, only the manager changes it, bad input
gets a clear error and changes nothing, and an imported history gets a proposal from its data."""

import datetime as dt

import pytest
from django.urls import reverse

from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import RecomputeState, StaleRule
from funnel.pipeline.run import team_recompute


def url(team):
    return reverse("definitions:stale_rule", kwargs={"slug": team.slug})


def post(client, team, capture, **data):
    with capture(execute=True):
        return client.post(url(team), {"rule": "on", **data})


def test_off_by_default_and_visible_to_every_member(
    login, rep, team, django_assert_max_num_queries
):
    client = login(rep)
    with django_assert_max_num_queries(10):
        response = client.get(url(team))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Off: open deals stay open" in content
    assert "Only the team's manager changes this rule." in content
    assert "Proposed from your data" not in content  # a live team with no import
    listing = login(rep).get(reverse("definitions:definition_list", kwargs={"slug": team.slug}))
    assert b"Stale deal</a>" in listing.content


def test_manager_changes_it_in_versions_that_keep_the_history(
    login, manager, team, django_capture_on_commit_callbacks
):
    client = login(manager)
    response = post(client, team, django_capture_on_commit_callbacks, days="60")
    assert response.status_code == 302
    # The change asked for a rebuild, which recorded the rule the passages now follow.
    state = RecomputeState.objects.get(team=team)
    assert state.stale_days == 60 and state.stale_as_of is not None
    post(client, team, django_capture_on_commit_callbacks, days="90", note="Longer cycles")
    post(client, team, django_capture_on_commit_callbacks, rule="off")
    versions = list(StaleRule.objects.filter(team=team).order_by("number"))
    assert [(v.number, v.days, v.author_id) for v in versions] == [
        (1, 60, manager.id),
        (2, 90, manager.id),
        (3, None, manager.id),
    ]
    assert versions[1].note == "Longer cycles"
    assert versions[0].effective_from == dt.date.today()
    state.refresh_from_db()
    assert (state.stale_days, state.stale_as_of) == (None, None)
    content = client.get(url(team)).content.decode()
    assert "<del>60 days</del><ins>90 days</ins>" in content
    assert "<del>90 days</del><ins>off</ins>" in content
    assert "<del>off (default)</del><ins>60 days</ins>" in content


@pytest.mark.parametrize("role", ["rep", "executive"])
def test_only_the_manager_may_change_it(request, login, team, role):
    user = request.getfixturevalue(role)
    response = login(user).post(url(team), {"rule": "on", "days": "60"})
    assert response.status_code == 403
    assert not StaleRule.objects.exists()


def test_outsider_gets_404(login, outsider, team):
    assert login(outsider).get(url(team)).status_code == 404
    assert login(outsider).post(url(team), {"rule": "on", "days": "60"}).status_code == 404


def test_wrong_method_is_405(login, manager, team):
    assert login(manager).put(url(team)).status_code == 405


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"days": "sixty"}, "days", "Give a whole number of days, e.g. 60."),
        ({"days": "0"}, "days", "Give at least 1 day."),
        ({"days": "4000"}, "days", "Give at most 3650 days (ten years)."),
        ({"days": ""}, "days", "Give the number of days without an event, e.g. 60."),
        ({"rule": "off"}, "__all__", "Nothing changed: the rule is off already."),
    ],
)
def test_bad_input_gets_a_clear_error_and_changes_nothing(
    login, manager, team, data, field, message
):
    response = login(manager).post(url(team), {"rule": "on", **data})
    assert response.status_code == 422
    assert response.context["form"].errors[field] == [message]
    assert message in response.content.decode()
    assert not StaleRule.objects.exists()


def test_no_change_and_an_effective_date_before_the_current_one_are_refused(
    login, manager, team, django_capture_on_commit_callbacks
):
    client = login(manager)
    post(client, team, django_capture_on_commit_callbacks, days="60")
    same = client.post(url(team), {"rule": "on", "days": "60"})
    assert same.context["form"].errors["__all__"] == [
        "Nothing changed: the rule is already an open deal with no event for 60 days counts "
        "as lost (stale)."
    ]
    earlier = client.post(url(team), {"rule": "on", "days": "30", "effective_from": "2020-01-01"})
    assert earlier.status_code == 422
    assert (
        "cannot take effect before the current one"
        in earlier.context["form"].errors["effective_from"][0]
    )
    assert StaleRule.objects.count() == 1


T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def imported_history(team):
    """A history that stopped in March 2026: ten deals with gaps of 1 and 3 days, one with gaps
    of 10 and 44 days (22 gaps; 95th percentile by nearest rank: the 21st smallest, 10 days),
    and one open deal."""
    events = []
    for i in range(10):
        for j, (d, what) in enumerate([(0, "inquiry"), (1, "engaged"), (4, "won")]):
            events.append((f"W{i}", j, d, what))
    for j, (d, what) in enumerate([(0, "inquiry"), (10, "engaged"), (54, "lost")]):
        events.append(("L", j, d, what))
    events.append(("O", 0, 2, "inquiry"))
    stage_events_ingest(
        team=team,
        origin="api",
        events=[
            EventIn(
                event_id=f"{deal}-{j}",
                deal_external_id=deal,
                occurred_at=T0 + dt.timedelta(days=d),
                stage=None if what in ("won", "lost") else what,
                outcome=what if what in ("won", "lost") else None,
            )
            for deal, j, d, what in events
        ],
    )
    team_recompute(team=team)  # the data stopped: the verdict is as of its horizon
    return team


def test_an_imported_history_gets_a_proposal_the_manager_accepts_in_one_click(
    login, manager, imported_history, django_capture_on_commit_callbacks
):
    team = imported_history
    client = login(manager)
    response = client.get(url(team))
    content = response.content.decode()
    assert response.context["proposal"].days == 14
    assert "<strong>14 days</strong>" in content
    assert "Use 14 days" in content
    assert not StaleRule.objects.exists()  # proposed, never applied silently
    form = response.context["proposal"]
    accepted = post(
        client,
        team,
        django_capture_on_commit_callbacks,
        days=str(form.days),
        proposed="True",
        note="Proposed from the data",
    )
    assert accepted.status_code == 302
    rule = StaleRule.objects.get(team=team)
    assert (rule.days, rule.proposed) == (14, True)
    assert "The rule in force uses it." in client.get(url(team)).content.decode()
