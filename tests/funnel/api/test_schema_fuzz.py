"""Schema fuzzing: schemathesis generates requests from /api/v1/openapi.json and runs all its
checks on every answer (no 500, status code and body documented, content type, headers).

Three callers: a token of the team the data belongs to (with `can_manage`, so the stage list
replacement is reached too), a token of another team, and no token. Bounded by the number of
examples per operation, so the whole file takes a few minutes.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from funnel.api import api
from funnel.models import ApiToken
from kaizen.wsgi import application

# All checks run. One is told what this API means by 422: the schema cannot say which stage
# slugs, owners and team slugs a team has, nor that dates start in 1970, so a request valid by
# the schema may still name a stage the team does not have; the API answers 422 with the index
# and field, which the positive-data check must accept as an answer to valid-looking data
# (the negative-data check still requires every schema-invalid request to be refused).
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": [200, 201, 204, 401, 403, 404, 409, 422, 429]
            }
        }
    }
)
SCHEMA = schemathesis.openapi.from_dict(
    api.get_openapi_schema(path_prefix="/api/v1/"), config=CONFIG
)
SCHEMA.app = application

EXAMPLES = 60
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
# Fuzzing sends hundreds of requests: the per-token rate and the bad-token brake are tested
# in test_throttle.py, not here.
LIMITS = override_settings(
    API_TOKEN_RATE="1000000/min", API_BAD_TOKEN_LIMIT=1_000_000, ALLOWED_HOSTS=["*"]
)


# Each test sends its token through schemathesis's own auth (not headers added at the call), so
# that a negative case that drops or spoils the Authorization header reaches the API as sent.
TOKEN: dict[str, str | None] = {"value": None}


def _token(team, *, manage: bool) -> str:
    token, prefix, token_hash = ApiToken.generate()
    ApiToken.objects.create(
        team=team, name="fuzz", prefix=prefix, token_hash=token_hash, can_manage=manage
    )
    return token


@pytest.fixture(autouse=True)
def _test_connection_kept():
    """The WSGI handler closes the database connection after each request, as in production;
    here that connection holds the test's transaction, so keep it open (Django's test client
    does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def own_token(team):
    TOKEN["value"] = _token(team, manage=True)
    yield TOKEN["value"]
    TOKEN["value"] = None


@pytest.fixture
def other_team_token(other_team):
    TOKEN["value"] = _token(other_team, manage=True)
    yield TOKEN["value"]
    TOKEN["value"] = None


class FixtureToken:
    def get(self, case, context):
        return TOKEN["value"]

    def set(self, case, data, context):
        if data:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.mark.django_db
@LIMITS
@SCHEMA.auth.apply(FixtureToken, refresh_interval=None)
@SCHEMA.parametrize()
@FUZZ
def test_own_team_token(case, own_token):
    case.call_and_validate()


@pytest.mark.django_db
@LIMITS
@SCHEMA.auth.apply(FixtureToken, refresh_interval=None)
@SCHEMA.parametrize()
@FUZZ
def test_other_team_token(case, team, other_team_token):
    case.call_and_validate()


@pytest.mark.django_db
@LIMITS
@SCHEMA.parametrize()
@FUZZ
def test_no_token(case, team):
    case.call_and_validate()
