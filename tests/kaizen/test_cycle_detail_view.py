"""A cycle's page: plan, chart, Check, journal, history; role-aware controls; htmx notes."""

import datetime as dt

import pytest
from django.urls import reverse

from funnel.definitions.services import definition_version_create
from funnel.models import DefinitionVersion, Stage
from kaizen.models import CycleNote
from kaizen.services.check_act import cycle_check_run
from kaizen.services.cycles import cycle_commit, cycle_create
from tests.kaizen.support import BASELINE_ROWS, DO_ROWS, stage_weeks, weeks_before_now


@pytest.fixture
def cycle(team, manager):
    stage = Stage.objects.get(team=team, slug="proposal")
    stage_weeks(stage, weeks_before_now(17), BASELINE_ROWS + DO_ROWS)
    start = weeks_before_now(4)
    return cycle_create(
        team=team,
        by=manager,
        title="Review call before sending",
        stage=stage,
        metric="conversion",
        problem="Proposal converts 41 %.",
        target_condition="55 %.",
        hypothesis="Objections surface earlier.",
        predicted_direction="up",
        predicted_size=10.0,
        countermeasure="30-minute review call.",
        do_start=start,
        do_end=start + dt.timedelta(days=27),
    )


def detail(team, cycle):
    return reverse("kaizen:cycle_detail", kwargs={"slug": team.slug, "cycle_id": cycle.id})


def test_plan_phase_shows_the_current_condition_chart(login, manager, team, cycle):
    content = login(manager).get(detail(team, cycle)).content.decode()
    assert "Current condition: the last 13 weeks" in content
    assert "<title id=" in content and "<desc id=" in content
    assert "Commit plan" in content and "Edit plan" in content


def test_do_phase_shows_progress_so_far(login, rep, manager, team, cycle):
    cycle_commit(cycle=cycle, by=manager)
    content = login(rep).get(detail(team, cycle)).content.decode()
    assert "Do so far" in content and "Preview:" in content
    assert "Run the Check" not in content  # reps do not advance cycles
    assert "Add note" in content


def do_cycle(team, manager, weeks_in: int, do_rows: list[tuple[int, int]]):
    """A committed cycle whose Do started `weeks_in` weeks ago (so that many complete weeks)
    and runs two weeks past this one; hand-built weekly rows before and in it."""
    stage = Stage.objects.get(team=team, slug="qualified")
    stage_weeks(stage, weeks_before_now(13 + weeks_in), BASELINE_ROWS + do_rows)
    start = weeks_before_now(weeks_in)
    cycle = cycle_create(
        team=team,
        by=manager,
        title="Discovery script",
        stage=stage,
        metric="conversion",
        problem="Qualified converts 41 %.",
        target_condition="55 %.",
        hypothesis="Buyers with a figure act.",
        predicted_direction="up",
        predicted_size=10.0,
        countermeasure="Five questions.",
        do_start=start,
        do_end=weeks_before_now(-3) - dt.timedelta(days=1),
    )
    return cycle_commit(cycle=cycle, by=manager, today=start)


@pytest.mark.parametrize(
    ("weeks_in", "do_rows", "waits"),
    [
        (
            1,
            [(5, 3)],
            # Do started on this week's Monday minus one week: two complete weeks next Monday.
            "The Check opens on {next_monday}, when the Do window has 2 complete weeks "
            "(1 so far), and once it has 12 more decided deals (8 of 20 so far).",
        ),
        (
            2,
            [(8, 2), (7, 2)],
            "The Check opens once the Do window has 1 more decided deal (19 of 20 so far).",
        ),
    ],
)
def test_check_waits_for_its_evidence_and_says_what_is_missing(
    login, manager, team, weeks_in, do_rows, waits
):
    cycle = do_cycle(team, manager, weeks_in, do_rows)
    content = login(manager).get(detail(team, cycle)).content.decode()
    assert waits.format(next_monday=f"{weeks_before_now(-1):%a %-d %b %Y}") in content
    assert 'aria-describedby="check-when" disabled>Run the Check' in content
    assert "Not enough evidence yet" not in content  # the top card says it once, with the date


def test_check_is_possible_once_the_evidence_rules_are_met_before_the_do_end(login, manager, team):
    cycle = do_cycle(team, manager, 2, [(8, 2), (7, 3)])  # 2 complete weeks, 20 decided
    assert cycle.do_end > dt.date.today()
    client = login(manager)
    content = client.get(detail(team, cycle)).content.decode()
    assert "The Check opens" not in content
    assert (
        f"the Check can run now, before the Do window ends on {cycle.do_end:%-d %b %Y}" in content
    )
    assert 'aria-describedby="check-when">Run the Check' in content
    check = reverse("kaizen:cycle_check", kwargs={"slug": team.slug, "cycle_id": cycle.id})
    client.post(check)
    cycle.refresh_from_db()
    assert cycle.phase == "check" and cycle.check_result["do_volume"] == 20


def test_check_phase_shows_the_check_and_signals(login, executive, manager, team, cycle):
    cycle_commit(cycle=cycle, by=manager)
    cycle_check_run(cycle=cycle, by=manager)
    response = login(executive).get(detail(team, cycle))
    content = response.content.decode()
    assert "Supported by the data" in content
    assert "A week outside the usual range, the predicted way:</strong> yes" in content
    assert "is-signal" in content  # marked on the chart
    # The method's name is one tap away, in the "How we know" panel, not in the main text.
    how = content.index('<details class="kz-how">')
    assert content.index("Newcombe") > how
    for control in ["Move to Act", "Recompute", "Add note", "Edit plan", "Close the cycle"]:
        assert control not in content
    assert "Read-only for executives" in content


def test_rep_adds_a_note_with_htmx(login, rep, team, cycle):
    url = reverse("kaizen:cycle_note", kwargs={"slug": team.slug, "cycle_id": cycle.id})
    response = login(rep).post(
        url, {"body": "Called Acme: they liked it."}, headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="journal"')
    assert "Called Acme: they liked it." in content
    assert "HX-Request" in response["Vary"]
    assert CycleNote.objects.get().author == rep


def test_empty_note_is_refused(login, rep, team, cycle):
    url = reverse("kaizen:cycle_note", kwargs={"slug": team.slug, "cycle_id": cycle.id})
    response = login(rep).post(url, {"body": "  "}, headers={"HX-Request": "true"})
    assert "A note needs some text." in response.content.decode()
    assert not CycleNote.objects.exists()


def test_history_lists_who_changed_what(login, manager, team, cycle):
    cycle_commit(cycle=cycle, by=manager)
    content = login(manager).get(detail(team, cycle)).content.decode()
    assert "Created the cycle" in content
    assert "baseline frozen" in content and "retrospective" in content


def test_missing_cycle_is_404(login, manager, team):
    url = reverse("kaizen:cycle_detail", kwargs={"slug": team.slug, "cycle_id": 999})
    assert login(manager).get(url).status_code == 404


def test_a_definition_change_is_a_divider_on_the_chart(login, manager, team, cycle):
    definition = cycle.stage.definition
    v1 = definition.current_version
    DefinitionVersion.objects.filter(id=v1.id).update(effective_from=weeks_before_now(52))
    definition_version_create(
        definition=definition,
        by=manager,
        meaning="The budget owner asked for a written proposal.",
        criteria=v1.criteria,
        effective_from=weeks_before_now(8),
    )
    content = login(manager).get(detail(team, cycle)).content.decode()
    assert "divider-definition" in content
    assert "Definition changed — numbers either side differ in meaning" in content
