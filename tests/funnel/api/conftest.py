"""Tokens for team north and team south, and a client that sends one."""

import datetime as dt

import pytest
from django.utils import timezone

from funnel.models import ApiToken


def _token(team, name="CRM sync"):
    token, prefix, token_hash = ApiToken.generate()
    ApiToken.objects.create(team=team, name=name, prefix=prefix, token_hash=token_hash)
    return token


@pytest.fixture
def token(team):
    return _token(team)


@pytest.fixture
def other_token(other_team):
    return _token(other_team, "South CRM")


class ApiClient:
    """The Django test client with a bearer token and JSON bodies."""

    def __init__(self, client, token):
        self.client, self.token = client, token

    def _headers(self, headers):
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, path, data=None, headers=None):
        return self.client.get(f"/api/v1{path}", data, headers=self._headers(headers))

    def post(self, path, body, headers=None):
        return self.client.post(
            f"/api/v1{path}", body, content_type="application/json", headers=self._headers(headers)
        )


@pytest.fixture
def api(client, token):
    return ApiClient(client, token)


@pytest.fixture
def other_api(client, other_token):
    return ApiClient(client, other_token)


T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def event(event_id, deal="D-1", days=0, stage="inquiry", attrs=None, **kw):
    """One event as a CRM sends it; attrs are the deal's attributes (owner, amount, ...)."""
    body = {
        "id": event_id,
        "deal": {"id": deal, **(attrs or {})},
        "occurred_at": (T0 + dt.timedelta(days=days)).isoformat(),
        **kw,
    }
    if stage is not None and "outcome" not in kw:
        body["stage"] = stage
    return body


@pytest.fixture
def now():
    return timezone.now()
