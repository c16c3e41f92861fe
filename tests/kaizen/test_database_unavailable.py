"""While the database cannot be reached, requests answer 503 with Retry-After, never 500: JSON
in the API's error format under /api/, a plain page elsewhere; once it is back, the next
request reconnects by itself (issue 17, item 1)."""

import socket

import pytest
from django.db import OperationalError, connection
from django.test import RequestFactory
from django.urls import reverse

from kaizen.unavailable import DatabaseUnavailableMiddleware, server_error
from tests.funnel.api.conftest import ApiClient, _token


@pytest.fixture(autouse=True)
def _no_debug(settings):
    settings.DEBUG = False


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DatabaseAway:
    """The test's PostgreSQL connection pointed at a port nobody listens on, then back."""

    def __enter__(self):
        self.port = connection.settings_dict["PORT"]
        connection.close()
        connection.settings_dict["PORT"] = str(_closed_port())

    def __exit__(self, *exc):
        connection.settings_dict["PORT"] = self.port
        connection.close()


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs a database server to lose"
)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_an_api_call_gets_503_then_works_once_the_database_is_back(client, team):
    api = ApiClient(client, _token(team))
    client.raise_request_exception = False
    with DatabaseAway():
        response = api.get("/stages")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/json"
    assert "database is unavailable" in response.json()["detail"]
    assert api.get("/stages").status_code == 200


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_page_gets_the_503_page_then_works_once_the_database_is_back(login, manager, team):
    client = login(manager)
    client.raise_request_exception = False
    url = reverse("deal_list", args=[team.slug])
    with DatabaseAway():
        response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.content.decode()
    assert "503" in body and "Wait 5 seconds" in body and "Sales Kaizen" in body
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    ("path", "content_type"), [("/api/v1/stages", "application/json"), ("/teams/", "text/html")]
)
def test_a_database_error_from_a_middleware_is_a_503_too(path, content_type):
    request = RequestFactory().get(path)
    try:
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response["Content-Type"].startswith(content_type)


def test_other_errors_keep_the_500_page():
    request = RequestFactory().get("/teams/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500


def test_the_middleware_leaves_other_errors_to_django():
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    request = RequestFactory().get("/teams/")
    assert middleware.process_exception(request, ValueError("a bug")) is None


def test_every_api_operation_documents_the_503(client):
    schema = client.get("/api/v1/openapi.json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert operations
    assert all("503" in op["responses"] for op in operations)
