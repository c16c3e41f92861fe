"""The admin shows touches, tactics (with their rule versions) and the tactics counts, and
changes none of them: edits go through the tactics page and the write paths, which version
the rules and mark the counts stale."""

import datetime as dt

import pytest
from django.urls import reverse

from funnel.models import Origin, Tactic, Touch
from funnel.pipeline.tactics import team_tactics_rebuild

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", ["touch", "tactic", "touchweekcount", "prospectweekcount", "recomputestate"]
)
def test_lists_show_and_nothing_is_added_or_changed(admin_client, team, model):
    Touch.objects.create(
        team=team,
        touch_id="a",
        tactic=Tactic.objects.get(team=team, slug="call"),
        channel="phone",
        prospect="P-1",
        occurred_at=dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC),
        responded=True,
        origin=Origin.API,
    )
    team_tactics_rebuild(team=team)
    body = admin_client.get(reverse(f"admin:funnel_{model}_changelist")).content.decode()
    assert "North Region" in body
    assert admin_client.get(reverse(f"admin:funnel_{model}_add")).status_code == 403


def test_a_tactic_shows_its_rule_versions(admin_client, team):
    call = Tactic.objects.get(team=team, slug="call")
    body = admin_client.get(reverse("admin:funnel_tactic_change", args=[call.id])).content.decode()
    assert "Response rules" in body or "response rule" in body.lower()
    assert (
        admin_client.post(
            reverse("admin:funnel_tactic_change", args=[call.id]), {"name": "X"}
        ).status_code
        == 403
    )
