"""A PDCA cycle on a tactic's answer rate ("replace cold calls with a needs assessment"):
the baseline, the weekly series and the Check from fixed touches, checked against scipy and
hand-worked Wilson and Newcombe intervals; the database constraint; the plan form's errors;
who may plan such a cycle; the tactics page's "Test a change" link."""

import datetime as dt
import math

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import RestrictedError
from django.urls import reverse
from django.utils import timezone
from scipy.stats import binomtest, norm

from funnel.models import Deal, Origin, Role, Stage, StageEvent, Tactic, Touch
from funnel.services import membership_add
from funnel.touches.selectors import tactic_weekly_counts
from funnel.touches.services import response_rule_set
from kaizen.models import Cycle, CycleMetric, Phase
from kaizen.services.check_act import cycle_check_run
from kaizen.services.cycles import CycleError, cycle_commit, cycle_create
from tests.kaizen.support import TODAY, weeks_ago, weeks_before_now

Z = norm.ppf(0.975)
# Calls answered per week, 20 calls a week: 13 baseline weeks (24 of 260), then 4 Do weeks
# (16 of 80).
BASELINE_ANSWERED = [2, 1, 3, 2, 2, 1, 2, 3, 2, 1, 2, 2, 1]
DO_ANSWERED = [4, 5, 3, 4]
PER_WEEK = 20


def touches(tactic, first: dt.date, answered: list[int], per_week: int = PER_WEEK, tag="t"):
    """`per_week` touches of `tactic` in each week from Monday `first`, the first `answered[i]`
    of week i recorded as answered, the rest as not. The week's first touch falls just after
    Monday midnight and its last just before Sunday midnight: the week's edges."""
    rows = []
    for i, k in enumerate(answered):
        monday = timezone.make_aware(dt.datetime.combine(first + dt.timedelta(weeks=i), dt.time()))
        for j in range(per_week):
            offset = dt.timedelta(minutes=1) + j * (
                dt.timedelta(days=7, minutes=-2) / (per_week - 1)
            )
            rows.append(
                Touch(
                    team=tactic.team,
                    touch_id=f"{tag}-{tactic.slug}-{i}-{j}",
                    tactic=tactic,
                    channel=tactic.channel,
                    prospect=f"p-{i}-{j}",
                    occurred_at=monday + offset,
                    responded=j < k,
                    origin=Origin.API,
                )
            )
    Touch.objects.bulk_create(rows)


def wilson(k: int, n: int) -> tuple[float, float]:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


@pytest.fixture
def call(team):
    return Tactic.objects.get(team=team, slug="call")


@pytest.fixture
def email(team):
    return Tactic.objects.get(team=team, slug="email")


@pytest.fixture
def call_history(call, email):
    """Calls as above; e-mails answered every time, which must not leak into the calls' rate."""
    touches(call, weeks_ago(17), BASELINE_ANSWERED + DO_ANSWERED)
    touches(email, weeks_ago(17), [5] * 17, per_week=5)


def plan(team, manager, tactic, **overrides):
    values = {
        "title": "Replace cold calls with a needs assessment",
        "metric": CycleMetric.RESPONSE_RATE,
        "tactic": tactic,
        "problem": "Calls are answered 9 % of the time.",
        "target_condition": "15 % or more.",
        "hypothesis": "Questions about the prospect's situation earn an answer.",
        "predicted_direction": "up",
        "predicted_size": 5.0,
        "countermeasure": "Five needs-assessment questions instead of the pitch.",
        "do_start": weeks_ago(4),
        "do_end": weeks_ago(1) + dt.timedelta(days=6),
    }
    return cycle_create(team=team, by=manager, **{**values, **overrides})


def plan_committed_now(team, manager, tactic):
    """A plan on the real date, committed: 13 baseline weeks and 4 complete Do weeks before
    this week."""
    cycle = plan(
        team,
        manager,
        tactic,
        do_start=weeks_before_now(4),
        do_end=weeks_before_now(1) + dt.timedelta(days=6),
    )
    return cycle_commit(cycle=cycle, by=manager)


# --- baseline, series and Check against scipy and hand-worked intervals ---------------------


@pytest.mark.django_db
def test_baseline_is_the_pooled_rate_before_do_with_its_wilson_interval(
    team, manager, call, call_history
):
    cycle = cycle_commit(cycle=plan(team, manager, call), by=manager, today=TODAY)
    k, n = sum(BASELINE_ANSWERED), PER_WEEK * len(BASELINE_ANSWERED)
    assert (cycle.baseline_successes, cycle.baseline_n) == (24, 260) == (k, n)
    assert cycle.baseline_value == pytest.approx(24 / 260)
    low, high = wilson(24, 260)
    assert (cycle.baseline_low, cycle.baseline_high) == (pytest.approx(low), pytest.approx(high))
    assert (cycle.baseline_from, cycle.baseline_to) == (
        weeks_ago(17),
        weeks_ago(4) - dt.timedelta(days=1),
    )
    # The XmR limits of the 13 weekly rates, by hand: mean ± 2.66 × mean moving range.
    rates = [a / PER_WEEK for a in BASELINE_ANSWERED]
    mean = sum(rates) / len(rates)
    mmr = sum(abs(b - a) for a, b in zip(rates, rates[1:], strict=False)) / (len(rates) - 1)
    assert cycle.baseline_limits["mean"] == pytest.approx(mean)
    assert cycle.baseline_limits["upper"] == pytest.approx(mean + 2.66 * mmr)
    assert cycle.station == "marketing" and cycle.stage is None


@pytest.mark.django_db
def test_check_compares_the_do_window_with_newcombes_interval(team, manager, call, call_history):
    cycle = cycle_commit(cycle=plan(team, manager, call), by=manager, today=TODAY)
    result = cycle_check_run(cycle=cycle, by=manager, today=TODAY)

    assert (result.after.successes, result.after.n) == (16, 80)
    assert (result.before.successes, result.before.n) == (24, 260)
    p1, p2 = 16 / 80, 24 / 260
    (l1, u1), (l2, u2) = wilson(16, 80), wilson(24, 260)
    # Newcombe's hybrid score interval (his method 10), worked by hand from the two Wilsons.
    low = (p1 - p2) - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = (p1 - p2) + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    assert result.effect.estimate == pytest.approx(p1 - p2)
    assert (result.effect.low, result.effect.high) == (pytest.approx(low), pytest.approx(high))
    assert low > 0  # so the interval lies on the predicted side
    assert result.effect.method == "Newcombe hybrid score"
    # The weekly series: 13 baseline weeks then 4 Do weeks, each week's answered of its calls.
    assert list(result.values) == [a / PER_WEEK for a in BASELINE_ANSWERED + DO_ANSWERED]
    assert list(result.volumes) == [PER_WEEK] * 17
    assert result.weeks[0] == weeks_ago(17) and result.do_start_index == 13
    # By hand: mean 9.23 %, mean moving range 4.58 points, so the upper limit is 21.4 % and
    # the upper half-way line 15.3 %. Do's 25 % lies beyond the limit; 20, 25 and 20 % are 3
    # of 4 Do weeks beyond the half-way line (15 % is not): signals up, none down.
    flagged = {s.week: set(s.rules) for s in result.signals if s.direction == 1}
    assert flagged == {
        weeks_ago(4): {"three_of_four"},
        weeks_ago(3): {"outside_limits", "three_of_four"},
        weeks_ago(1): {"three_of_four"},
    }
    assert not result.signal_against
    assert result.verdict == "supported" and result.size_reached is True  # +10.8 pp >= 5
    cycle.refresh_from_db()
    assert cycle.phase == Phase.CHECK and cycle.check_result["metric"] == "response_rate"


@pytest.mark.django_db
def test_too_few_touches_is_not_enough_evidence_and_says_when_the_check_opens(team, manager, call):
    touches(call, weeks_ago(15), [2] * 13 + [3, 3], per_week=15)  # 30 calls in 2 Do weeks
    cycle = plan(
        team, manager, call, do_start=weeks_ago(2), do_end=weeks_ago(2) + dt.timedelta(days=27)
    )
    cycle = cycle_commit(cycle=cycle, by=manager, today=TODAY)
    with pytest.raises(CycleError) as refused:
        cycle_check_run(cycle=cycle, by=manager, today=TODAY, require_evidence=True)
    assert str(refused.value) == (
        "Not enough evidence yet. The Check opens once the Do window has 20 more touches "
        "(30 of 50 so far)."
    )
    cycle.refresh_from_db()
    assert cycle.phase == Phase.DO and cycle.check_result is None  # nothing stored

    one_week_in = TODAY - dt.timedelta(weeks=1)
    with pytest.raises(CycleError) as early:
        cycle_check_run(cycle=cycle, by=manager, today=one_week_in, require_evidence=True)
    opens = weeks_ago(2) + dt.timedelta(weeks=2)
    assert f"The Check opens on {opens:%a %-d %b %Y}, when the Do window has 2 complete" in str(
        early.value
    )


@pytest.mark.django_db
def test_other_tactics_and_other_teams_do_not_count(team, other_team, manager, call, email):
    touches(call, weeks_ago(17), BASELINE_ANSWERED + DO_ANSWERED)
    touches(email, weeks_ago(17), [5] * 17, per_week=5)
    theirs = Tactic.objects.get(team=other_team, slug="call")
    touches(theirs, weeks_ago(17), [9] * 17, per_week=9, tag="south")
    cycle = cycle_commit(cycle=plan(team, manager, call), by=manager, today=TODAY)
    assert (cycle.baseline_successes, cycle.baseline_n) == (24, 260)


# --- the database keeps tactic and metric together ---------------------------------------


@pytest.mark.django_db
def test_constraint_tactic_is_set_exactly_for_the_response_rate(team, manager, call):
    stage = Stage.objects.get(team=team, slug="proposal")
    with transaction.atomic(), pytest.raises(IntegrityError):
        Cycle.objects.create(team=team, title="x", metric=CycleMetric.RESPONSE_RATE)
    with transaction.atomic(), pytest.raises(IntegrityError):
        Cycle.objects.create(
            team=team, title="x", metric=CycleMetric.CONVERSION, stage=stage, tactic=call
        )
    Cycle.objects.create(team=team, title="ok", metric=CycleMetric.RESPONSE_RATE, tactic=call)


@pytest.mark.django_db
def test_a_tactic_with_a_cycle_cannot_be_deleted(team, manager, call):
    plan(team, manager, call)
    with transaction.atomic(), pytest.raises(RestrictedError):
        call.delete()
    assert Tactic.objects.filter(id=call.id).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="history triggers: PostgreSQL only")
@pytest.mark.django_db
def test_history_records_the_tactic_of_a_cycle(team, manager, call, email):
    cycle = plan(team, manager, call)
    Cycle.objects.filter(id=cycle.id).update(tactic=email)
    rows = list(cycle.history.order_by("pgh_id").values_list("pgh_label", "tactic_id", "metric"))
    assert rows == [
        ("insert", call.id, "response_rate"),
        ("update", email.id, "response_rate"),
    ]


# --- the plan form -------------------------------------------------------------------------


def form_data(**overrides):
    data = {
        "title": "Needs assessment instead of cold calls",
        "metric": "response_rate",
        "problem": "Calls are answered 9 %.",
        "predicted_direction": "up",
        "predicted_size": "5",
        "do_start": weeks_before_now(0).isoformat(),
        "do_end": (weeks_before_now(-3) + dt.timedelta(days=6)).isoformat(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def new_url(team):
    return reverse("kaizen:cycle_new", kwargs={"slug": team.slug})


@pytest.mark.django_db
def test_form_saves_a_cycle_on_the_chosen_tactic(login, manager, team, call):
    stage = Stage.objects.get(team=team, slug="proposal")
    response = login(manager).post(new_url(team), form_data(tactic=call.id, stage=stage.id))
    cycle = Cycle.objects.get()
    assert response.status_code == 302
    assert (cycle.metric, cycle.tactic, cycle.stage, cycle.station) == (
        "response_rate",
        call,
        None,  # a stage does not apply to a tactic's answer rate
        "marketing",
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "tactic", "Choose the tactic whose answer rate the cycle means to move."),
        (
            {"metric": "arrivals", "tactic": "CALL"},
            "tactic",
            "A tactic goes with the metric “answer rate of a tactic” only.",
        ),
        ({"tactic": "THEIRS"}, "tactic", "Choose one of this team's tactics in use."),
        ({"tactic": "RETIRED"}, "tactic", "Choose one of this team's tactics in use."),
        (
            {"tactic": "CALL", "comparison_team": "SOUTH"},
            "comparison_team",
            "An answer rate is the team's own tactic: leave the comparison team empty.",
        ),
    ],
)
@pytest.mark.django_db
def test_form_errors_say_what_and_where_and_write_nothing(
    login, manager, team, other_team, call, data, field, message
):
    membership_add(team=other_team, email=manager.email, role=Role.MANAGER)
    retired = Tactic.objects.get(team=team, slug="linkedin")
    retired.is_active = False
    retired.save()
    ids = {
        "CALL": call.id,
        "THEIRS": Tactic.objects.get(team=other_team, slug="call").id,
        "RETIRED": retired.id,
        "SOUTH": other_team.id,
    }
    sent = form_data(**{k: ids.get(v, v) for k, v in data.items()})
    response = login(manager).post(new_url(team), sent)
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert f'href="#field-{field}"' in response.content.decode()
    assert Cycle.objects.count() == 0


@pytest.mark.django_db
def test_new_form_from_the_tactics_page_preselects_metric_and_tactic(login, manager, team, call):
    response = login(manager).get(new_url(team) + "?metric=response_rate&tactic=call")
    form = response.context["form"]
    assert response.status_code == 200
    assert form["metric"].value() == "response_rate" and form["tactic"].value() == call.id
    assert form["title"].value() == "Lift the answer rate of Call"
    page = response.content.decode()
    assert f'<option value="{call.id}" selected>Call</option>' in page
    assert 'src="/static/js/cycle_plan.js"' in page or "js/cycle_plan" in page
    assert "<script>" not in page  # no inline script: the CSP forbids it


@pytest.mark.django_db
def test_an_unknown_tactic_prefills_nothing_and_says_so(login, manager, team):
    response = login(manager).get(new_url(team) + "?tactic=no-such")
    assert response.status_code == 200
    assert "not one of the team's tactics in use" in response.content.decode()
    assert response.context["form"]["metric"].value() == "conversion"


# --- who may plan such a cycle -------------------------------------------------------------


@pytest.mark.parametrize("role", ["rep", "executive"])
@pytest.mark.django_db
def test_rep_and_executive_cannot_create(login, rep, executive, team, call, role):
    user = {"rep": rep, "executive": executive}[role]
    client = login(user)
    assert client.get(new_url(team) + "?tactic=call").status_code == 403
    assert client.post(new_url(team), form_data(tactic=call.id)).status_code == 403
    assert Cycle.objects.count() == 0


@pytest.mark.django_db
def test_outsider_gets_404(login, outsider, team, call):
    client = login(outsider)
    assert client.get(new_url(team) + "?tactic=call").status_code == 404
    assert client.post(new_url(team), form_data(tactic=call.id)).status_code == 404
    assert Cycle.objects.count() == 0


# --- the tactics page's link and the cycle page --------------------------------------------


def tactics_url(team):
    return reverse("tactics_team", kwargs={"slug": team.slug})


@pytest.mark.django_db
def test_tactics_page_links_each_tactic_in_use_to_a_new_cycle(
    login, manager, rep, team, call, email, settings
):
    touches(call, weeks_before_now(3), [2, 3], per_week=10)
    touches(email, weeks_before_now(3), [1, 1], per_week=10)
    link = new_url(team) + "?metric=response_rate&amp;tactic=call"
    page = login(manager).get(tactics_url(team)).content.decode()
    assert f'href="{link}"' in page
    assert f'href="{new_url(team)}?metric=response_rate&amp;tactic=email"' in page
    assert link not in login(rep).get(tactics_url(team)).content.decode()  # reps cannot plan
    settings.TACTIC_CYCLE_URL_NAME = ""
    assert link not in login(manager).get(tactics_url(team)).content.decode()


@pytest.mark.django_db
def test_retired_tactic_has_no_link(login, manager, team, call):
    touches(call, weeks_before_now(3), [2, 3], per_week=10)
    call.is_active = False
    call.save()
    page = login(manager).get(tactics_url(team)).content.decode()
    assert "tactic=call" not in page


@pytest.mark.django_db
def test_cycle_page_names_the_tactic_in_plain_sentences(login, manager, team, call):
    # On the real date: 13 baseline weeks and 4 complete Do weeks before this week.
    touches(call, weeks_before_now(17), BASELINE_ANSWERED + DO_ANSWERED)
    cycle = plan_committed_now(team, manager, call)
    cycle_check_run(cycle=cycle, by=manager)
    url = reverse("kaizen:cycle_detail", kwargs={"slug": team.slug, "cycle_id": cycle.id})
    page = login(manager).get(url).content.decode()
    low, high = wilson(16, 80)
    assert (
        f"Call touches were answered 20.0 % of the time ({low * 100:.0f}–{high * 100:.0f} %) "
        "in the 4 complete Do weeks, 16 of 80; against 9.2 % (24 of 260 touches) in "
        "the 13 weeks before."
    ) in page
    assert "Call answer rate by week" in page
    assert "16 of 80 touches answered" in page
    assert "Call answer rate goes up by 5 percentage points" in page
    assert "answer rate of Call" in page


# --- the rule a cycle counts by is the one in force at its commit ---------------------------


def derived_touches(tactic, first: dt.date, answered: list[int], per_week: int = 10):
    """`per_week` touches a week on deals of their own, nothing recorded either way; the first
    `answered[i]` of week i are followed two days later by their deal entering a stage, which
    a rule with a window of a few days derives as an answer and a recorded-only rule does not."""
    stage = Stage.objects.filter(team=tactic.team).in_funnel().order_by("position")[1]
    for i, k in enumerate(answered):
        monday = timezone.make_aware(dt.datetime.combine(first + dt.timedelta(weeks=i), dt.time()))
        for j in range(per_week):
            at = monday + dt.timedelta(days=1, hours=j)
            deal = Deal.objects.create(team=tactic.team, external_id=f"d-{i}-{j}")
            Touch.objects.create(
                team=tactic.team,
                touch_id=f"r-{i}-{j}",
                tactic=tactic,
                channel=tactic.channel,
                deal=deal,
                occurred_at=at,
                responded=None,
                origin=Origin.API,
            )
            if j < k:
                StageEvent.objects.create(
                    team=tactic.team,
                    deal=deal,
                    stage=stage,
                    occurred_at=at + dt.timedelta(days=2),
                    recorded_at=at + dt.timedelta(days=2),
                    event_id=f"e-{i}-{j}",
                    origin=Origin.API,
                )


@pytest.mark.django_db
def test_a_rule_changed_during_do_does_not_change_what_the_cycle_counts(login, manager, team, call):
    response_rule_set(tactic=call, window_days=7, by=manager)
    baseline, do = [1, 2, 1, 2, 1, 1, 2, 1, 2, 1, 1, 2, 1], [4, 5, 4, 5]
    derived_touches(call, weeks_before_now(17), baseline + do)
    cycle = plan_committed_now(team, manager, call)
    cycle.refresh_from_db()
    assert (cycle.baseline_successes, cycle.baseline_n) == (sum(baseline), 130)
    # During Do the manager makes the rule "recorded answers only": by it, no touch here is
    # answered. The cycle still counts by the 7-day rule it was planned with.
    response_rule_set(tactic=call, window_days=None, by=manager)
    result = cycle_check_run(cycle=cycle, by=manager)
    assert (result.before.successes, result.before.n) == (sum(baseline), 130)
    assert (result.after.successes, result.after.n) == (sum(do), 40)
    # The tactic's own series, by the rule now in force, has no answer at all.
    assert all(w.responses == 0 for w in tactic_weekly_counts(tactic=call))
    url = reverse("kaizen:cycle_detail", kwargs={"slug": team.slug, "cycle_id": cycle.id})
    page = login(manager).get(url).content.decode()
    assert (
        "Answers are counted by the response rule in force when the plan was committed "
        "(version 2: a recorded answer, or a stage move or win within 7 days)."
    ) in page
    assert "The tactic&#x27;s rule has changed since" in page
    assert "(version 3: answers recorded by the rep or an import only)" in page


@pytest.mark.django_db
def test_a_plan_counts_by_the_rule_in_force_and_says_which(login, manager, team, call):
    response_rule_set(tactic=call, window_days=7, by=manager)
    cycle = plan(team, manager, call)
    url = reverse("kaizen:cycle_detail", kwargs={"slug": team.slug, "cycle_id": cycle.id})
    page = login(manager).get(url).content.decode()
    assert (
        "Answers are counted by the tactic&#x27;s response rule (version 2: a recorded "
        "answer, or a stage move or win within 7 days)."
    ) in page
    assert "has changed since" not in page


@pytest.mark.django_db
def test_a_cycle_dated_before_the_tactics_first_rule_counts_by_that_rule(team, manager, call):
    """The demo dates its cycles back, before its tactics (and their first rule) were made:
    the first version is the one in force, not none (which would count recorded answers only)."""
    derived_touches(call, weeks_before_now(17), [1] * 13 + [4, 5, 4, 5])
    cycle = plan_committed_now(team, manager, call)
    Cycle.objects.filter(id=cycle.id).update(
        committed_at=call.response_rules.get(number=1).created_at - dt.timedelta(days=120)
    )
    cycle.refresh_from_db()
    result = cycle_check_run(cycle=cycle, by=manager)
    assert (result.after.successes, result.after.n) == (18, 40)  # by version 1's 14 days
