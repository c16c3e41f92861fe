"""manage.py create_api_token --team SLUG NAME prints a working token once."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from funnel.models import ApiToken

pytestmark = pytest.mark.django_db


def test_prints_a_token_that_authenticates(client, team):
    out = StringIO()
    call_command("create_api_token", "HubSpot sync", team="north", stdout=out)
    text = out.getvalue()
    token = next(line for line in text.splitlines() if line.startswith("kz_"))
    assert "not shown again" in text
    row = ApiToken.objects.get()
    assert (row.team, row.name) == (team, "HubSpot sync")
    assert row.token_hash == ApiToken.hash_token(token)
    assert token.split("_")[1] == row.prefix
    response = client.get("/api/v1/stages", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_unknown_team_is_an_error(db):
    with pytest.raises(CommandError, match="No team with slug 'nowhere'"):
        call_command("create_api_token", "x", team="nowhere", stdout=StringIO())
    assert not ApiToken.objects.exists()


def test_blank_name_is_an_error(team):
    with pytest.raises(CommandError, match="needs a name"):
        call_command("create_api_token", "  ", team="north", stdout=StringIO())
