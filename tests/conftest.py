"""Fixture users with clear roles: a rep, a manager and an executive of team "north", and an
outsider who belongs only to team "south"."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from funnel.models import Role
from funnel.pipeline.as_of import team_aggregates_forget
from funnel.services import membership_add, team_create

# Integration/browser requirements (skip, or fail in CI), the end-of-run summary, eager Celery
# for unit tests and the real Celery worker fixtures: pytest finds hooks and fixtures by name here.
from tests.integration_support import (  # noqa: F401
    _celery_mode,
    celery_worker,
    celery_worker_process,
    pytest_collection_modifyitems,
    pytest_runtest_setup,
    pytest_terminal_summary,
)

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Rolled-back tests reuse ids (and NOW): no cached figures may outlive their test."""
    cache.clear()
    team_aggregates_forget()


def _user(team, email: str, role: str):
    _, _, user = membership_add(team=team, email=email, role=role)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def team(db):
    return team_create(slug="north", name="North Region")


@pytest.fixture
def other_team(db):
    return team_create(slug="south", name="South Region")


@pytest.fixture
def rep(team):
    return _user(team, "rita.rep@example.com", Role.REP)


@pytest.fixture
def manager(team):
    return _user(team, "max.manager@example.com", Role.MANAGER)


@pytest.fixture
def executive(team):
    return _user(team, "eve.exec@example.com", Role.EXECUTIVE)


@pytest.fixture
def outsider(other_team):
    return _user(other_team, "otto.outsider@example.com", Role.MANAGER)


@pytest.fixture
def login(client):
    """Log the client in as a user and hand the client back."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def user_model():
    return get_user_model()
