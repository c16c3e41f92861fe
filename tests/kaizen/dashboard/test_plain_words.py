"""The dashboards in plain words (issue 16): what the freshness line, the history and the
agreement panels say, the statistics behind a "How we know" panel, where a target comes from,
and one interval level on the whole page."""

import re

import pytest
from django.urls import reverse

import funnel.context_processors
from funnel.metrics import intervals
from funnel.models import BottleneckStatus
from funnel.pipeline.run import team_recompute
from kaizen.dashboard.panels import value_stream

pytestmark = pytest.mark.django_db


def team_page(client, slug="north"):
    return client.get(reverse("team_dashboard", args=[slug])).content.decode()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_freshness_says_what_the_figures_include_not_an_event_number(login, team, manager):
    team_recompute(team=team)
    html = team_page(login(manager))
    line = html[html.index('id="freshness"') : html.index("</p>", html.index('id="freshness"'))]
    assert "through event" not in line
    assert "includes every deal change recorded up to then" in text_of(line)


def test_history_that_never_moved_is_said_in_words(login, team, manager):
    team_recompute(team=team)
    html = team_page(login(manager))
    history = text_of(html[html.index('id="history"') : html.index('id="cycles"')])
    assert "since the first recompute" not in history
    assert "The verdict has not moved: Not enough data every time the figures were" in history


def test_agreement_panel_counts_one_member_in_the_singular(login, team, manager):
    team_recompute(team=team)
    html = team_page(login(manager))
    coverage = text_of(html[html.index('id="coverage"') :])
    assert "1 sellers and managers" not in coverage
    # The team has its manager only: one person who may agree to 6 stage, 6 deal
    # characteristic and 4 response (one per default tactic) definitions.
    assert "(1 seller or manager × 16 definitions)" in coverage


def test_verdict_card_reads_as_sentences_and_keeps_the_statistics_one_tap_away(
    login, loaded, manager
):
    html = team_page(login(manager))
    card = html[html.index('id="verdict-card"') : html.index("</article>")]
    why = next(c for c in loaded.figures["contenders"] if c.get("slug") == "qualified")
    plain, how = card.split('<details class="how-we-know"', 1)
    # The sentence first: the share, a plain range and how many deals, no test names.
    assert f"<strong>{why['current'] * 100:.0f} %</strong> of the Qualified deals decided" in plain
    assert f"{why['n']} decided deals" in plain
    assert "p =" not in plain and "confidence" not in plain and "Wilson" not in plain
    # The statistics behind the tap.
    how = how[: how.index("</details>")]
    assert "<summary>How we know</summary>" in how
    assert f"p = {why['p_value']:.4f}" in how and "Wilson score interval" in how
    assert "95 % interval" in how


def test_target_source_agrees_on_the_overview_and_the_dashboard(login, loaded, team, manager):
    """Qualified has no manager's target: both pages give the demonstrated one, same value."""
    why = next(c for c in loaded.figures["contenders"] if c.get("slug") == "qualified")
    assert why["target_source"] == "capability"
    shown = f"{why['target'] * 100:.0f} %"
    client = login(manager)
    overview = client.get(reverse("team_overview", args=[team.slug])).content.decode()
    cell = overview[overview.index('id="target-conversion-qualified"') :]
    cell = text_of(cell[: cell.index("</div>")])
    assert "not set" not in cell
    assert f"{shown} demonstrated" in cell
    card = team_page(client)
    target = text_of(
        card[
            card.index('id="verdict-target"') : card.index(
                "</li>", card.index('id="verdict-target"')
            )
        ]
    )
    assert f"The target is {shown} demonstrated" in target


def test_a_managers_target_is_yours_on_both_pages(login, loaded, team, manager):
    team.stages.filter(slug="qualified").update(target_conversion="0.8")
    team_recompute(team=team)
    client = login(manager)
    overview = client.get(reverse("team_overview", args=[team.slug])).content.decode()
    cell = overview[overview.index('id="target-conversion-qualified"') :]
    assert "80 % yours" in text_of(cell[: cell.index("</div>")])
    card = team_page(client)
    if 'id="verdict-target"' in card:  # Qualified at 80 % is still the bottleneck
        start = card.index('id="verdict-target"')
        assert "The target is 80 % yours" in text_of(card[start : card.index("</li>", start)])
    targets = client.get(reverse("stage_targets", args=[team.slug, "qualified"])).content
    assert "80 % yours" in text_of(targets.decode())


def test_one_interval_level_on_the_page_at_a_non_default_setting(
    client, login, loaded, team, manager, executive, monkeypatch
):
    """Configured at 90 %: every interval on the team and company pages says 90 %, none 95 %.
    The snapshot is the one a recompute at 90 % stores: each figure's level is 0.9."""
    monkeypatch.setattr(intervals, "CONFIDENCE", 0.9)
    monkeypatch.setattr(funnel.context_processors, "CONFIDENCE", 0.9)
    status = BottleneckStatus.objects.filter(team=team).latest("computed_at")
    for contender in status.figures["contenders"]:
        contender["confidence"] = 0.9
    status.figures["confidence"] = 0.9
    status.save(update_fields=["figures"])
    team_words = text_of(team_page(login(manager)))
    client.logout()
    # The executive's company page has the station table, with an interval per station.
    company_words = text_of(login(executive).get(reverse("company_dashboard")).content.decode())
    for words in (team_words, company_words):
        assert "its 90 % interval" in words  # the footer
        assert not re.search(r"95 % (interval|confidence)|at 95 %|its 95 %", words)
    assert "Intervals at 90 % confidence" in team_words
    assert "Every range on this page is a 90 % interval" in team_words
    assert "Ranges are 90 % intervals" in company_words


def test_overview_gives_the_managers_days_and_the_verdicts_demonstrated_average(
    login, loaded, team, manager
):
    """Target days mark deals aged; the verdict judges the average days by the demonstrated
    level. The overview names both, each with its source, as the dashboard does."""
    days = next(
        c
        for c in loaded.figures["contenders"]
        if c.get("metric") == "days" and c.get("target_source") == "capability"
    )
    stage = team.stages.get(position=days["stage_position"])
    stage.target_days = 30
    stage.save(update_fields=["target_days"])
    overview = login(manager).get(reverse("team_overview", args=[team.slug])).content.decode()
    cell = overview[overview.index(f'id="target-days-{stage.slug}"') :]
    words = text_of(cell[: cell.index("</dd>")])
    assert "30 days yours" in words
    assert f"judges the average against {days['target']:.1f} days demonstrated" in words


def test_value_stream_of_a_snapshot_without_levels_states_the_configured_one():
    """An older snapshot's figures carry no interval level: the value stream says the app's
    one level rather than "Intervals at — confidence"."""
    figures = {
        "contenders": [
            {"stage_position": 1, "metric": "conversion", "name": "Inquiry", "current": 0.5}
        ],
        "recent_from": "2026-01-05",
        "recent_to": "2026-04-06",
    }
    stream = value_stream(figures=figures, rows=[], bottleneck_position=None)
    assert stream.confidence == intervals.CONFIDENCE == 0.95
