"""API limits (issue 17, item 2): per token, 429 with Retry-After past the rate; and an address
sending unknown tokens is stopped before its tokens are even looked up."""

import pytest

from tests.funnel.api.conftest import ApiClient


@pytest.fixture
def rate(settings):
    settings.API_TOKEN_RATE = "3/min"


def test_a_token_past_its_rate_gets_429_with_retry_after(api, client, other_token, rate):
    codes = [api.get("/stages").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = api.get("/stages")
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert "Too many requests" in limited.json()["detail"]
    # Another token has its own count.
    assert ApiClient(client, other_token).get("/stages").status_code == 200


def test_unknown_tokens_from_one_address_are_stopped(client, token, settings):
    settings.API_BAD_TOKEN_LIMIT, settings.API_BAD_TOKEN_WINDOW = 5, 300

    def get(bearer, address):
        return client.get(
            "/api/v1/stages", headers={"Authorization": f"Bearer {bearer}"}, REMOTE_ADDR=address
        )

    codes = [get(f"guess-{i}", "10.6.6.6").status_code for i in range(6)]
    assert codes == [401] * 5 + [429]
    # Even the right token waits out the window from that address ...
    stopped = get(token, "10.6.6.6")
    assert stopped.status_code == 429
    assert stopped["Retry-After"] == "300"
    # ... while other addresses go on as before.
    assert get(token, "10.7.7.7").status_code == 200


def test_every_operation_documents_the_answers_it_can_give(client):
    schema = client.get("/api/v1/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"200", "401", "429"} <= codes, (method, path, codes)
