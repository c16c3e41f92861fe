"""One quantity, one figure (issue 14, item 8): "won a week at stake" at a bottleneck is each
team's own gap at its own target, shown the same on the company page (summary, pooled verdict,
team card), the team page and the API."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from bench.synthetic import FunnelShape
from funnel.models import ApiToken, BottleneckStatus, Stage, Verdict
from funnel.pipeline.company import company_recompute
from tests.kaizen.dashboard.conftest import load

pytestmark = pytest.mark.django_db


def strip_figure(html: str) -> str:
    return re.search(r"Won a week at stake</span><strong>([^<]+)</strong>", html).group(1)


def company_figure(html: str) -> str | None:
    """The figure in the pooled verdict's heading, if it has one."""
    found = re.search(r'id="company-verdict-title">[^<]*<span class="num[^"]*">([^ ]+) won', html)
    return found.group(1) if found else None


def card_figure(html: str, slug: str) -> str:
    card = html[html.index(f'id="team-{slug}"') :]
    return re.search(r'class="tv-gap"><strong>([^<]+)</strong>', card).group(1)


def figures(position: int, gap: float) -> dict:
    """A verdict's arithmetic as the recompute stores it, for a Proposal shortfall."""
    return {
        "kind": "bottleneck",
        "station": "selling",
        "stage_position": position,
        "won_per_week": 2.0,
        "recent_from": "2026-08-31",
        "recent_to": "2026-11-30",
        "contenders": [
            {
                "stage_position": position,
                "station": "selling",
                "name": "Proposal",
                "metric": "conversion",
                "current": 0.46,
                "low": 0.33,
                "high": 0.61,
                "n": 84,
                "target": 0.64,
                "gap": gap,
                "signal_by": ["interval"],
            }
        ],
    }


def test_the_issue_case_one_bottleneck_one_figure(login, executive, team, other_team):
    """The stored figures of the demo: Enterprise's Proposal at +0.6746 a week, and the pooled
    verdict at the same stage with its own pooled gap, +0.7395. The page showed both."""
    proposal = Stage.objects.get(team=team, slug="proposal")
    now = timezone.now()
    team_gap, pooled_gap = 0.6745923678343906, 0.7395049712141888
    BottleneckStatus.objects.create(
        team=team,
        verdict=Verdict.BOTTLENECK,
        stage=proposal,
        station="selling",
        gap_per_week=team_gap,
        figures=figures(proposal.position, team_gap),
        watermark=1,
        computed_at=now,
    )
    BottleneckStatus.objects.create(
        team=other_team,
        verdict=Verdict.NO_CLEAR,
        figures={"kind": "no_clear_bottleneck", "reason": "Nothing beyond noise."},
        watermark=1,
        computed_at=now,
    )
    BottleneckStatus.objects.create(
        team=None,
        verdict=Verdict.BOTTLENECK,
        station="selling",
        gap_per_week=pooled_gap,
        figures=figures(proposal.position, pooled_gap),
        watermark=1,
        computed_at=now,
    )
    html = login(executive).get(reverse("company_dashboard")).content.decode()
    assert strip_figure(html) == company_figure(html) == card_figure(html, "north") == "+0.67"
    assert "+0.74" not in html
    assert "At stake: North Region, whose own bottleneck is here, at its own target." in html


def test_generated_teams_the_company_figure_is_the_teams_gaps_summed(
    login, executive, team, other_team
):
    """Two teams whose Qualified stage converts half as well lately (different seeds): both
    verdicts name Qualified, and so does the pooled one, whose own gap (against the pooled
    series' best level) is another number. The page shows the teams' gaps and their sum."""
    load(team)
    shape = FunnelShape(seed=31, arrivals_per_week=30, conversion_factor={2: 0.5})
    load(other_team, shape=shape, prefix="south")
    company = company_recompute()
    stored = {
        s.team.slug: s
        for s in BottleneckStatus.objects.filter(team__isnull=False).select_related("team", "stage")
    }
    position = company.figures["stage_position"]
    here = [
        s.gap_per_week
        for s in stored.values()
        if s.verdict == Verdict.BOTTLENECK and s.stage.position == position
    ]
    assert company.verdict == Verdict.BOTTLENECK and len(here) == 2  # the scenario holds
    assert f"{company.gap_per_week:+.2f}" != f"{sum(here):+.2f}"  # pooled: another number

    html = login(executive).get(reverse("company_dashboard")).content.decode()
    assert company_figure(html) == strip_figure(html) == f"{sum(here):+.2f}"
    for slug, status in stored.items():
        assert card_figure(html, slug) == f"{status.gap_per_week:+.2f}"


def test_team_page_and_api_show_the_same_gap(client, login, loaded, manager, team):
    html = login(manager).get(reverse("team_dashboard", args=[team.slug])).content.decode()
    shown = re.search(r'class="verdict-gap"><strong>([^<]+)</strong>', html).group(1)
    token, prefix, token_hash = ApiToken.generate()
    ApiToken.objects.create(team=team, name="CRM", prefix=prefix, token_hash=token_hash)
    body = client.get(
        "/api/v1/bottleneck", {"team": team.slug}, headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert body["verdict"] == "bottleneck"
    assert shown == f"{body['gap_per_week']:+.2f}" == f"{loaded.gap_per_week:+.2f}"
    # "At target" adds the same gap to the won deals a week.
    at_target, won = re.search(
        r"At target, the team would win <strong>([\d.]+)</strong> deals a week instead of ([\d.]+)",
        html,
    ).groups()
    assert won == f"{body['won_per_week']:.1f}"
    assert at_target == f"{body['won_per_week'] + body['gap_per_week']:.1f}"
