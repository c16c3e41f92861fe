"""The verdict at the edges of the data (issue 14, items 2 and 4): a history judged the same
whenever it ended, an export's last partial or empty week, a log's first weeks, and a flow
shortfall found without a typed target."""

import datetime as dt
from dataclasses import replace
from datetime import date, timedelta

import pytest

from bench.calibration import NOW, STAGES, funnel_measure, funnel_verdict
from bench.synthetic import FunnelShape, funnel_generate
from funnel.metrics.accounting import StageWeek, week_start
from funnel.metrics.verdict import StageSpec, VerdictKind, bottleneck_verdict

START = date(2024, 1, 1)  # a Monday


def judged(measured, as_of):
    return bottleneck_verdict(
        stages=STAGES,
        stage_weeks=measured.stage_weeks,
        as_of=as_of,
        flows=measured.flows,
        week_days=measured.week_days,
    )


def shifted(verdict, weeks):
    """The verdict's figures with its dates moved by `weeks`, to compare two histories."""
    move = timedelta(weeks=weeks)
    return (
        verdict.kind,
        verdict.stage_position,
        verdict.metric,
        verdict.recent_from + move,
        [
            replace(
                c,
                capability_from=c.capability_from and c.capability_from + move,
                from_week=c.from_week and c.from_week + move,
            )
            for c in verdict.contenders
        ],
    )


@pytest.mark.parametrize(
    "shape",
    [FunnelShape(seed=21), FunnelShape(seed=22, conversion_factor={2: 0.5})],
    ids=["steady", "qualified-halved"],
)
def test_a_history_ending_a_year_ago_gets_the_verdict_it_gets_ending_now(shape):
    live = judged(funnel_measure(funnel_generate(shape, now=NOW), now=NOW), NOW.date())
    then = NOW - timedelta(weeks=52)
    old = judged(funnel_measure(funnel_generate(shape, now=then), now=then), NOW.date())
    assert old.recent_to == week_start(then.date())
    assert shifted(old, 52) == shifted(live, 0)
    assert live.kind == (
        VerdictKind.BOTTLENECK if shape.conversion_factor else VerdictKind.NO_CLEAR_BOTTLENECK
    )


@pytest.mark.parametrize("seed", range(31, 37))
@pytest.mark.parametrize("later_days", [5, 12], ids=["stops-mid-week", "empty-last-week"])
def test_an_export_that_stops_names_no_market_bottleneck(seed, later_days):
    # The data stops on a Wednesday (NOW); judged the next Monday, its last week holds three
    # days of arrivals; a week later, the last complete week is empty.
    measured = funnel_measure(funnel_generate(FunnelShape(seed=seed), now=NOW), now=NOW)
    verdict = judged(measured, NOW.date() + timedelta(days=later_days))
    assert verdict.recent_to == week_start(NOW.date())  # the partial week is left out
    assert verdict.station != "market"
    assert replace(verdict, edge="") == judged(measured, NOW.date())
    assert verdict.edge.startswith("Nothing arrived after the week of 1 Jun 2026")


def test_an_export_filtered_by_creation_date_is_judged_where_its_new_deals_stop():
    # New deals stop on NOW; closes go on for three more weeks (an export of the deals created
    # up to then). The drain is not judged: the same verdict as on the day the deals stopped.
    later = NOW + timedelta(weeks=3)
    shape = FunnelShape(seed=51, weeks=55, arrivals_per_week=60)
    generated = funnel_generate(shape, now=later)
    stop = NOW.timestamp()
    first_entry = {}
    for deal, stage, at in zip(generated.deal, generated.stage, generated.at, strict=True):
        if stage == 0:
            first_entry[int(deal)] = at
    keep = [first_entry.get(int(d), 0) < stop for d in generated.deal]
    cut = replace(
        generated,
        deal=generated.deal[keep],
        stage=generated.stage[keep],
        outcome=generated.outcome[keep],
        at=generated.at[keep],
    )
    verdict = judged(funnel_measure(cut, now=later), later.date())
    assert verdict.recent_to == week_start(NOW.date())
    assert verdict.edge.startswith("No new deals after the week of 1 Jun 2026")
    assert verdict.station != "market" and verdict.kind != VerdictKind.BOTTLENECK


def lagged_log(weeks, *, conversion=0.5, per_week=40, loss_lag=8):
    """One stage where wins are decided a week after entry and losses `loss_lag` weeks after:
    a log's first weeks see only the quick wins."""
    rows, days = [], {}
    won = int(per_week * conversion)
    for w in range(weeks):
        advanced = won if w >= 1 else 0
        lost = per_week - won if w >= loss_lag else 0
        monday = START + timedelta(weeks=w)
        rows.append(StageWeek(1, monday, per_week, advanced, lost))
        cells = [(7.0, advanced)] if advanced else []
        if lost:
            cells.append((7.0 * loss_lag, lost))
        days[monday] = cells
    return rows, {1: days}


def test_the_first_weeks_of_a_log_produce_no_conversion_verdict():
    rows, week_days = lagged_log(30)
    stage = [StageSpec(1, "selling")]
    as_of = START + timedelta(weeks=30, days=2)  # the 31st week has no data: 29 complete
    honest = bottleneck_verdict(stages=stage, stage_weeks=rows, as_of=as_of, week_days=week_days)
    assert honest.kind == VerdictKind.NO_CLEAR_BOTTLENECK
    conversion = next(c for c in honest.contenders if c.metric == "conversion")
    # 85th percentile of days in stage: 56 (half the exits take 7 days, half 56): the first
    # week and 8 more are the log's warm-up.
    assert conversion.from_week == START + timedelta(weeks=9)
    # The best window is an ordinary one: the warm-up's 100 % weeks set no target.
    assert conversion.best == pytest.approx(0.5) and not conversion.shortfall
    # Without the days (not knowing how long decisions take) only the first week is left
    # out, and the best window is the warm-up's: 260 won of 380 decided.
    naive = bottleneck_verdict(stages=stage, stage_weeks=rows, as_of=as_of)
    assert next(c for c in naive.contenders if c.metric == "conversion").best == (
        pytest.approx(260 / 380)
    )


def test_a_log_still_in_its_warm_up_is_not_judged_on_conversion():
    rows, week_days = lagged_log(16)
    stage = [StageSpec(1, "selling")]
    as_of = START + timedelta(weeks=16)
    verdict = bottleneck_verdict(stages=stage, stage_weeks=rows, as_of=as_of, week_days=week_days)
    conversion = next(c for c in verdict.contenders if c.metric == "conversion")
    assert conversion.p_value is None and not conversion.signal
    assert verdict.kind != VerdictKind.BOTTLENECK


@pytest.mark.parametrize("seed", [41, 42, 43])
def test_days_in_stage_tripled_without_a_typed_target_is_a_flow_bottleneck(seed):
    assert all(s.target_days is None for s in STAGES)
    verdict = funnel_verdict(FunnelShape(seed=seed, days_factor={3: 3.0}))
    assert verdict.kind == VerdictKind.BOTTLENECK
    assert (verdict.metric, verdict.stage_position) == ("days", 4)
    winner = next(c for c in verdict.contenders if c.metric == "days" and c.signal)
    # Little's law: at the same waiting work, wins scale by the days' ratio.
    assert verdict.gap == pytest.approx(verdict.won_per_week * (winner.current / winner.target - 1))
    assert winner.target_source == "capability" and winner.current > 2 * winner.target
    assert "days in stage" in verdict.reason


def test_steady_generated_funnels_rarely_name_a_bottleneck_and_a_halved_stage_is_found():
    # The full measurement (100+ seeds, every scenario) is bench_verdict_calibration.
    steady = [funnel_verdict(FunnelShape(seed=seed)) for seed in range(100, 140)]
    assert sum(v.kind == VerdictKind.BOTTLENECK for v in steady) <= 2
    found = 0
    for seed in range(100, 124):
        stage = seed % 6
        verdict = funnel_verdict(FunnelShape(seed=seed, conversion_factor={stage: 0.5}))
        found += (verdict.metric, verdict.stage_position) == ("conversion", stage + 1)
    assert found >= 22


def test_now_is_a_wednesday():
    # The export tests above count on the data stopping mid-week.
    assert NOW.weekday() == 2 and NOW.tzinfo is dt.UTC


def test_a_stage_that_never_recorded_a_loss_gets_no_days_verdict():
    # Leads that never close stay open: the winners' days alone say nothing of the flow. The
    # days triple in the last quarter, as in the flow test above, but no loss is recorded.
    measured = funnel_measure(
        funnel_generate(FunnelShape(seed=41, days_factor={3: 3.0}), now=NOW), now=NOW
    )
    rows = [replace(r, lost=0) if r.stage_position == 4 else r for r in measured.stage_weeks]
    verdict = bottleneck_verdict(
        stages=STAGES, stage_weeks=rows, as_of=NOW.date(), week_days=measured.week_days
    )
    days = next(c for c in verdict.contenders if c.metric == "days" and c.stage_position == 4)
    assert days.p_value is None and days.target is None and not days.signal
    assert (verdict.metric, verdict.stage_position) != ("days", 4)
