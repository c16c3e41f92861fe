"""Schema fuzzing: schemathesis generates requests from /api/v1/openapi.json and runs all its
checks on every answer (no 500, status code and body documented, content type, headers).

Three callers: a token of the team the data belongs to (with `can_manage`, so the stage list
replacement is reached too), a token of another team, and no token. Bounded by the number of
examples per operation, so the whole file takes a few minutes.
"""

from __future__ import annotations

import pytest
import schemathesis
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


def _token(team, *, manage: bool) -> str:
    token, prefix, token_hash = ApiToken.generate()
    ApiToken.objects.create(
        team=team, name="fuzz", prefix=prefix, token_hash=token_hash, can_manage=manage
    )
    return token


@pytest.fixture
def own_token(team):
    return _token(team, manage=True)


@pytest.fixture
def other_team_token(other_team):
    return _token(other_team, manage=True)


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.mark.django_db
@LIMITS
@SCHEMA.parametrize()
@FUZZ
def test_own_team_token(case, own_token):
    case.call_and_validate(headers=_bearer(own_token))


@pytest.mark.django_db
@LIMITS
@SCHEMA.parametrize()
@FUZZ
def test_other_team_token(case, team, other_team_token):
    case.call_and_validate(headers=_bearer(other_team_token))


@pytest.mark.django_db
@LIMITS
@SCHEMA.parametrize()
@FUZZ
def test_no_token(case, team):
    case.call_and_validate(headers=_bearer(None))
