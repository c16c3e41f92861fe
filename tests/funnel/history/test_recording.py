"""Every write of a tracked row leaves a history row with who and through what, whichever path
wrote it (browser, admin, API batch, COPY import, Celery task); the event log takes no update or
delete but the team's deletion."""

from decimal import Decimal

import pgtrigger
import pytest
from celery import shared_task
from django.db import connection, transaction
from django.db.models import Q
from django.db.utils import ProgrammingError
from django.urls import reverse

from funnel.api.services import api_token_create
from funnel.definitions.services import definition_version_create
from funnel.history.selectors import history_for_objects, history_model_for
from funnel.imports.run import import_job_run
from funnel.imports.service import import_job_create, import_job_validate
from funnel.models import (
    ApiToken,
    Deal,
    DefinitionVersion,
    Membership,
    OperationalDefinition,
    Role,
    Stage,
    StageEvent,
    Team,
)
from funnel.services import membership_set, team_delete, team_update
from funnel.stages.services import stage_targets_set
from tests.funnel.api.conftest import ApiClient
from tests.funnel.history.conftest import pg_only

pytestmark = [pg_only, pytest.mark.django_db]


def rows(model, **filters):
    return list(history_model_for(model).objects.filter(**filters).order_by("pgh_id"))


def context(row) -> dict:
    return row.pgh_context or {}


def test_an_admin_edit_of_a_deal_records_old_and_new_amount_with_the_user(admin_client, deal):
    response = admin_client.post(
        reverse("admin:funnel_deal_change", args=[deal.pk]),
        {
            "owner": deal.owner_id,
            "account": "Acme",
            "department": "",
            "source": "",
            "amount": "2500",
        },
    )
    assert response.status_code == 302
    insert, update = rows(Deal, pgh_obj_id=deal.pk)
    assert (insert.pgh_label, insert.amount) == ("insert", 1000)
    assert (update.pgh_label, update.amount) == ("update", 2500)
    admin = Deal._meta.get_field("owner").related_model.objects.get(is_superuser=True)
    assert context(update)["user"] == admin.pk
    assert context(update)["url"].startswith("/admin/")

    [entry] = [
        e
        for e in history_for_objects(sources=[(Deal, _obj(deal))], team=deal.team)
        if e.action == "Changed"
    ]
    assert [(c.field, c.old, c.new) for c in entry.changes] == [("Amount", "$1,000", "$2,500")]
    assert (entry.who, entry.via) == (admin.email, "Admin")


def _obj(row):
    return Q(pgh_obj_id=row.pk)


def test_an_api_batch_overwriting_amount_and_account_records_the_token(client, team, deal):
    api_token, secret = api_token_create(team=team, name="HubSpot sync")
    response = ApiClient(client, secret).post(
        "/events",
        {
            "events": [
                {
                    "id": "d2",
                    "deal": {"id": "D-1", "amount": 4000, "account": "Acme Ltd"},
                    "occurred_at": "2026-03-03T09:00:00Z",
                    "stage": "engaged",
                }
            ]
        },
    )
    assert response.status_code in (200, 201, 202), response.content
    update = rows(Deal, pgh_obj_id=deal.pk)[-1]
    assert (update.pgh_label, update.amount, update.account) == ("update", 4000, "Acme Ltd")
    assert context(update)["api_token"] == api_token.pk
    assert context(update)["api_token_name"] == "HubSpot sync"
    assert StageEvent.objects.get(team=team, event_id="d2").api_token_id == api_token.pk

    entry = history_for_objects(sources=[(Deal, _obj(deal))], team=team)[0]
    assert {(c.field, c.old, c.new) for c in entry.changes} == {
        ("Amount", "$1,000", "$4,000"),
        ("Account", "Acme", "Acme Ltd"),
    }
    assert (entry.who, entry.via) == ("API token HubSpot sync", "API")


@pytest.mark.django_db(transaction=True)
def test_an_api_batch_records_the_token_with_real_transaction_boundaries(client, team):
    """As under gunicorn: the request is not inside a test's transaction, so the context must
    be set inside the ingest's own transaction, before the set-based writes (a plain psycopg
    cursor that Django's statement wrapper does not see)."""
    api_token, secret = api_token_create(team=team, name="CRM sync")
    batch = [
        {"id": "t1", "deal": {"id": "N-1", "account": "Oakridge Partners", "amount": 25000}},
        {"id": "t2", "deal": {"id": "N-1", "account": "Overwritten Inc", "amount": 1}},
    ]
    for event, day in zip(batch, ("02", "03"), strict=True):
        event.update(stage="inquiry", occurred_at=f"2026-03-{day}T09:00:00Z")
        response = ApiClient(client, secret).post("/events", {"events": [event]})
        assert response.status_code == 200, response.content

    deal = Deal.objects.get(team=team, external_id="N-1")
    created, changed = rows(Deal, pgh_obj_id=deal.pk)
    assert (created.pgh_label, changed.pgh_label) == ("insert", "update")
    assert (changed.account, changed.amount) == ("Overwritten Inc", 1)
    for row in (created, changed):
        assert (context(row)["via"], context(row)["api_token"]) == ("api", api_token.pk)


@pytest.mark.django_db(transaction=True)
def test_each_api_batch_records_its_own_token_though_the_context_is_set_once(client, team):
    """A batch sets the context once for its plain-cursor statements: the next batch, from
    another token, on the same connection, must record that token, not the first one's."""
    tokens = [api_token_create(team=team, name=name) for name in ("CRM sync", "Backfill")]
    for n, (_token, secret) in enumerate(tokens):
        # Enough new deals for the COPY, and stored deals retitled and moved: every statement
        # of the batch that writes a deal.
        events = [
            {
                "id": f"b{n}-{d}",
                "deal": {"id": f"N-{d}", "account": f"Account {n}", "amount": 1000 + n},
                "stage": "inquiry" if n == 0 else "engaged",
                "occurred_at": f"2026-03-0{2 + n}T09:00:00Z",
            }
            for d in range(250)
        ]
        response = ApiClient(client, secret).post("/events", {"events": events})
        assert response.status_code == 200, response.content
    deal = Deal.objects.get(team=team, external_id="N-7")
    created, changed = rows(Deal, pgh_obj_id=deal.pk)
    assert (created.pgh_label, changed.pgh_label) == ("insert", "update")
    assert context(created)["api_token"] == tokens[0][0].pk
    assert context(changed)["api_token"] == tokens[1][0].pk
    assert changed.account == "Account 1"


def _validated_job(team, manager, *, rows: int):
    content = "Deal ID,Stage,Created,Amount\r\n" + "".join(
        f"C{i:04d},Prospecting,2026-01-{1 + i % 28:02d},{100 + i}\r\n" for i in range(rows)
    )
    job = import_job_create(
        team=team, uploaded_by=manager, filename="crm.csv", content=content.encode()
    )
    mapping = {
        "shape": "deals",
        "columns": {
            "Deal ID": "deal_id",
            "Stage": "stage",
            "Created": "created_at",
            "Amount": "amount",
        },
        "stage_values": {"Prospecting": "inquiry"},
    }
    assert import_job_validate(job=job, mapping=mapping).errors == []
    job.refresh_from_db()
    return job


def test_an_import_by_copy_records_its_job_on_every_deal(team, manager):
    job = _validated_job(team, manager, rows=300)
    copies = []

    def spy(execute, sql, params, many, ctx):
        copies.append(sql)
        return execute(sql, params, many, ctx)

    with connection.execute_wrapper(spy):
        import_job_run(job=job)
    job.refresh_from_db()
    assert job.summary["deals_created"] == 300
    inserted = rows(Deal, team_id=team.id, pgh_label="insert")
    assert len(inserted) == 300  # 300 rows: above the COPY threshold, so written by COPY
    assert {context(row).get("import_job") for row in inserted} == {job.id}
    assert {context(row).get("import_filename") for row in inserted} == {"crm.csv"}
    assert {context(row).get("user") for row in inserted} == {manager.pk}
    assert not any('INSERT INTO "funnel_deal"' in str(sql) for sql in copies)


def test_the_two_writers_of_a_large_import_record_its_job(transactional_db, team, manager):
    """Outside a transaction (as in the Celery task) the rows are written by two threads, each
    on its own connection: each carries the job's context."""
    job = _validated_job(team, manager, rows=300)
    job = import_job_run(job=job, chunk_rows=100)
    assert "writers_events" in job.summary["seconds"]["inside"]
    inserted = rows(Deal, team_id=team.id, pgh_label="insert")
    assert len(inserted) == 300
    assert {context(row).get("import_job") for row in inserted} == {job.id}


def test_set_up_changes_are_recorded(team, manager, rep):
    stage = Stage.objects.get(team=team, slug="engaged")
    stage_targets_set(stage=stage, target_conversion=None, target_days=None, by=manager)
    stage_targets_set(stage=stage, target_conversion=0.4, target_days=12, by=manager)
    assert rows(Stage, pgh_obj_id=stage.pk)[-1].target_days == 12

    definition = OperationalDefinition.objects.filter(team=team).first()
    version = definition_version_create(
        definition=definition, by=manager, meaning="Budget confirmed", criteria=["Budget named"]
    )
    assert rows(DefinitionVersion, pgh_obj_id=version.pk)[0].meaning == "Budget confirmed"

    membership_set(team=team, user=rep, role=Role.MANAGER)
    membership = Membership.objects.get(team=team, user=rep)
    assert [r.role for r in rows(Membership, pgh_obj_id=membership.pk)] == ["rep", "manager"]

    token, _ = api_token_create(team=team, name="Zapier", by=manager)
    assert [r.pgh_label for r in rows(ApiToken, pgh_obj_id=token.pk)] == ["insert"]


def test_a_team_settings_change_through_the_page_records_old_and_new(login, team, manager):
    response = login(manager).post(
        reverse("team_settings", args=[team.slug]),
        {"name": "North", "currency": "EUR", "winnable_min_points": "5"},
    )
    assert response.status_code == 302
    update = rows(Team, pgh_obj_id=team.pk)[-1]
    assert (update.name, update.currency) == ("North", "EUR")
    assert context(update)["user"] == manager.pk


def test_the_token_secret_and_its_hash_never_reach_history(team, manager):
    token, secret = api_token_create(team=team, name="Zapier", by=manager)
    model = history_model_for(ApiToken)
    assert "token_hash" not in {f.name for f in model._meta.fields}
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT row_to_json(h)::text FROM "{model._meta.db_table}" h')
        dumped = " ".join(row[0] for row in cursor.fetchall())
    assert secret not in dumped and token.token_hash not in dumped


def test_the_event_log_takes_no_update_nor_delete(deal):
    event = StageEvent.objects.get(deal=deal)
    for sql in (
        "UPDATE funnel_stageevent SET occurred_at = occurred_at + interval '1 day' WHERE id = %s",
        "DELETE FROM funnel_stageevent WHERE id = %s",
    ):
        with (
            pytest.raises(ProgrammingError, match="pgtrigger"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    with pytest.raises(ProgrammingError), transaction.atomic():
        StageEvent.objects.filter(pk=event.pk).update(lost_reason="x")
    assert StageEvent.objects.filter(pk=event.pk, occurred_at=event.occurred_at).exists()


def test_deleting_a_user_still_clears_recorded_by(team, manager, deal):
    with pgtrigger.ignore("funnel.StageEvent:stage_event_no_update"):
        StageEvent.objects.filter(deal=deal).update(recorded_by=manager)
    manager.delete()  # SET_NULL: the one update the guard allows
    assert StageEvent.objects.filter(deal=deal, recorded_by__isnull=True).count() == 1


def test_deleting_the_team_deletes_its_log_and_is_recorded(team, deal):
    team_delete(team=team)
    assert not StageEvent.objects.filter(deal_id=deal.pk).exists()
    assert not Deal.objects.filter(pk=deal.pk).exists()
    assert rows(Deal, pgh_obj_id=deal.pk)[-1].pgh_label == "delete"


@shared_task(name="tests.history.team_rename")
def team_rename_task(team_id: int) -> None:
    team = Team.objects.get(pk=team_id)
    team_update(team=team, name="Renamed by a job", winnable_min_difference=Decimal("0.05"))


def test_a_celery_task_write_names_the_task(team):
    team_rename_task.apply(args=[team.pk])
    update = rows(Team, pgh_obj_id=team.pk)[-1]
    assert update.name == "Renamed by a job"
    assert context(update) == {"via": "task", "task": "tests.history.team_rename"}
