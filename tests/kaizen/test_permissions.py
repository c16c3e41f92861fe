"""The permission matrix of every kaizen view: anonymous -> login, outsider -> 404 (like a
missing id), the role without the right -> 403 (and nothing changes), the wrong method -> 405."""

import pytest
from django.urls import reverse

from funnel.models import Agreement, Stage
from kaizen.models import Cycle, CycleNote
from kaizen.services.cycles import cycle_create

# (url name, needs a cycle, method that works, role lacking the right or None)
VIEWS = [
    ("definition_list", False, "get", None),
    ("definition_detail", False, "get", None),
    ("definition_edit", False, "get", "rep"),
    ("definition_edit", False, "post", "rep"),
    ("definition_agree", False, "post", "executive"),
    ("cycle_board", False, "get", None),
    ("cycle_new", False, "get", "rep"),
    ("cycle_new", False, "post", "executive"),
    ("cycle_detail", True, "get", None),
    ("cycle_plan_edit", True, "get", "rep"),
    ("cycle_plan_edit", True, "post", "executive"),
    ("cycle_commit", True, "post", "rep"),
    ("cycle_check", True, "post", "executive"),
    ("cycle_close", True, "post", "rep"),
    ("cycle_close", True, "post", "executive"),
    ("cycle_note", True, "post", "executive"),
]
WRONG_METHOD = {"get": "post", "post": "get"}
GET_AND_POST = {"definition_edit", "cycle_new", "cycle_plan_edit"}


@pytest.fixture
def cycle(team, manager):
    stage = Stage.objects.get(team=team, slug="proposal")
    return cycle_create(
        team=team, by=manager, title="Review calls", stage=stage, metric="conversion"
    )


def url_for(name, team, cycle):
    kwargs = {"slug": team.slug}
    if name.startswith("definition_") and name != "definition_list":
        kwargs["definition_slug"] = "stage-proposal"
    if name.startswith("cycle_") and name not in {"cycle_board", "cycle_new"}:
        kwargs["cycle_id"] = cycle.id
    namespace = "definitions" if name.startswith("definition_") else "kaizen"
    return reverse(f"{namespace}:{name}", kwargs=kwargs)


@pytest.mark.parametrize(("name", "_", "method", "__"), VIEWS)
def test_anonymous_goes_to_login(client, team, cycle, name, _, method, __):
    response = getattr(client, method)(url_for(name, team, cycle))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("name", "_", "method", "__"), VIEWS)
def test_outsider_gets_404(login, outsider, team, cycle, name, _, method, __):
    response = getattr(login(outsider), method)(url_for(name, team, cycle))
    assert response.status_code == 404


@pytest.mark.parametrize(("name", "_", "method", "role"), [v for v in VIEWS if v[3]])
def test_role_without_the_right_gets_403(login, rep, executive, team, cycle, name, _, method, role):
    user = {"rep": rep, "executive": executive}[role]
    before = (Cycle.objects.count(), CycleNote.objects.count(), Agreement.objects.count())
    response = getattr(login(user), method)(
        url_for(name, team, cycle), {"body": "x", "title": "x", "decision": "adopt"}
    )
    assert response.status_code == 403
    after = (Cycle.objects.count(), CycleNote.objects.count(), Agreement.objects.count())
    assert after == before


@pytest.mark.parametrize(
    ("name", "method"), sorted({(v[0], v[2]) for v in VIEWS if v[0] not in GET_AND_POST})
)
def test_wrong_method_gets_405(login, manager, team, cycle, name, method):
    response = getattr(login(manager), WRONG_METHOD[method])(url_for(name, team, cycle))
    assert response.status_code == 405


@pytest.mark.parametrize("name", sorted(GET_AND_POST))
def test_put_gets_405(login, manager, team, cycle, name):
    assert login(manager).put(url_for(name, team, cycle)).status_code == 405


def test_other_teams_cycle_is_404_for_its_own_manager(login, outsider, other_team, cycle):
    # The cycle exists, but not in the outsider's team: same answer as a missing id.
    url = reverse("kaizen:cycle_detail", kwargs={"slug": other_team.slug, "cycle_id": cycle.id})
    assert login(outsider).get(url).status_code == 404
