"""The same batch POSTed twice at the same moment is stored once (real PostgreSQL)."""

import threading

import pytest
from django.db import connection
from django.test import Client

from funnel.models import Deal, StageEvent
from tests.funnel.api.conftest import event

pytestmark = pytest.mark.integration


def test_a_concurrent_replay_counts_each_event_once(transactional_db, team, token, rep):
    assert connection.vendor == "postgresql"
    batch = {
        "events": [
            event(f"e{i}", deal=f"D-{i % 70}", days=i % 9, attrs={"owner": rep.email})
            for i in range(200)
        ]
    }
    barrier = threading.Barrier(2)
    answers: list = [None, None]

    def post(slot: int) -> None:
        try:
            client = Client()
            barrier.wait(timeout=30)
            answers[slot] = client.post(
                "/api/v1/events",
                batch,
                content_type="application/json",
                headers={"Authorization": f"Bearer {token}"},
            )
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=post, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [a.status_code for a in answers] == [200, 200], [a.content for a in answers]
    bodies = [a.json() for a in answers]
    assert sum(b["accepted"] for b in bodies) == 200
    assert sum(b["duplicates"] for b in bodies) == 200
    assert sum(b["deals_created"] for b in bodies) == 70
    assert StageEvent.objects.filter(team=team).count() == 200
    assert Deal.objects.filter(team=team).count() == 70
