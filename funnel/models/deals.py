"""Deals, the append-only stage-event log, characteristics and observations."""

import operator
from functools import reduce

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q

from funnel.models.audit import audited
from funnel.models.team import Stage, Team


class DealStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


def _deal_changed_trigger(operation, rows: str) -> pgtrigger.Trigger:
    kind = str(operation).lower()
    referencing = (
        pgtrigger.Referencing(old=rows) if rows == "old_values" else pgtrigger.Referencing(new=rows)
    )
    return pgtrigger.Trigger(
        name=f"deal_changed_{kind}",
        when=pgtrigger.After,
        operation=operation,
        level=pgtrigger.Statement,
        referencing=referencing,
        func=(
            "INSERT INTO funnel_dealchanged (team_id, deal_ids) "
            f"SELECT team_id, jsonb_agg(id) FROM {rows} GROUP BY team_id; RETURN NULL;"
        ),
    )


# Only what people and the CRM enter: the rest is derived from the event log, which is its own
# record (and would add a history row for every event of every batch).
@audited(
    "DealHistory",
    fields=["team", "external_id", "owner", "account", "department", "source", "amount"],
)
class Deal(models.Model):
    # No single-column indexes on team and owner: (team, external_id) and (owner, status) lead
    # with them, and each index costs every position update of every ingested batch. No
    # database checks on them either: PostgreSQL checks a foreign key with a locking look-up per
    # row at commit, which cost more than inserting the deal (14 µs of a deal's 26 on import).
    # Deals are written by the ingest (which reads the team and its members first) and deleted
    # by Django, which cascades and nulls these in Python as the on_delete rules say.
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="deals", db_index=False, db_constraint=False
    )
    external_id = models.CharField(max_length=100, help_text="The CRM's id of the deal.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_deals",
        db_index=False,
        db_constraint=False,
    )
    account = models.CharField(max_length=200, blank=True)
    department = models.CharField(
        max_length=120, blank=True, help_text="The prospect's department the deal is with."
    )
    source = models.CharField(max_length=120, blank=True, help_text="Lead-generation tactic.")
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # Everything below is derived from the event log and cached here.
    status = models.CharField(max_length=8, choices=DealStatus.choices, default=DealStatus.OPEN)
    lost_reason = models.CharField(max_length=200, blank=True)
    # Not indexed: a batch moves most of its deals to another stage, and with no index on the
    # columns a position changes, PostgreSQL updates the row in place (a HOT update; the table
    # keeps room for it, see migration 0001) instead of adding an entry to every index. No
    # database check either: it caches the stage of an event, which ingestion checked.
    current_stage = models.ForeignKey(
        Stage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="current_deals",
        db_index=False,
        db_constraint=False,
    )
    stage_entered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True, help_text="First event's time.")
    closed_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Latest event's time: a new event at or after it extends the log in order.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "external_id"], name="deal_external_id_unique_per_team"
            ),
            models.CheckConstraint(
                condition=Q(status__in=DealStatus.values), name="deal_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="deal_amount_not_negative"
            ),
        ]
        indexes = [
            # Status first: the unique (team, external id) index must be the only one leading
            # with team. With a new team's statistics still counting its deals as none, the
            # planner found (team, status) as cheap for a batch's look-up by external id, and
            # read all of the team's deals for each id: a 78,000-row first import took 214 s
            # instead of 6.
            models.Index(fields=["status", "team"], name="deal_status_team"),
            models.Index(fields=["owner", "status"], name="deal_owner_status"),
        ]
        # Every write lists the deals it wrote (funnel.models.flow.DealChanged), one row per
        # statement: the verdict re-reads those open deals and keeps the rest.
        triggers = [
            _deal_changed_trigger(pgtrigger.Insert, "new_values"),
            _deal_changed_trigger(pgtrigger.Update, "new_values"),
            _deal_changed_trigger(pgtrigger.Delete, "old_values"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.account})" if self.account else self.external_id

    @property
    def is_open(self) -> bool:
        return self.status == DealStatus.OPEN


class Outcome(models.TextChoices):
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Origin(models.TextChoices):
    API = "api", "API"
    CSV = "csv", "CSV import"
    UI = "ui", "Browser"
    SEED = "seed", "Demo data"


class AppendOnlyError(Exception):
    """Raised on an attempt to change or delete a row of an append-only log."""


class AppendOnly(models.Model):
    """Rows are written once: the log is the truth the snapshots are computed from."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")


# Every column of a stage event but recorded_by, which a user's deletion clears.
EVENT_FIELDS_FIXED = [
    "id",
    "team",
    "deal",
    "stage",
    "outcome",
    "lost_reason",
    "occurred_at",
    "recorded_at",
    "event_id",
    "origin",
    "api_token",
]


class StageEvent(AppendOnly):
    """A deal entered a stage, or was won or lost. Append-only.

    The event with the latest occurred_at (ties broken by arrival, i.e. id) is the deal's current
    position, so the order in which events arrive never changes the result.
    """

    # Every index costs each of millions of inserts. None on team and deal alone: (team,
    # event_id), (team, id) and (deal, occurred_at, id) lead with them. None on stage and
    # recorded_by: only deleting a stage or a user looks events up by them, rarely, and may scan.
    #
    # No database foreign-key checks on team, deal and stage either: each costs a trigger per
    # row of every batch, about 5 % of the API's time apiece. The one write path,
    # funnel.ingest, writes events only for deals it has just locked or created in the same
    # transaction, with the team's own id and stage ids; the ORM still cascades a deal's or a
    # team's deletion to its events and protects a stage that has events. Nor on recorded_by:
    # an import names its uploader on every event, and the check took a share lock on that one
    # user row per event at commit (46 ms of 15,000 events, more with two writers at once);
    # the ORM sets recorded_by to null when the user is deleted.
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        related_name="stage_events",
        db_index=False,
        db_constraint=False,
    )
    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="events", db_index=False, db_constraint=False
    )
    stage = models.ForeignKey(
        Stage,
        db_constraint=False,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    outcome = models.CharField(max_length=8, choices=Outcome.choices, blank=True)
    lost_reason = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    event_id = models.CharField(
        max_length=120, help_text="The sender's id of the event; makes ingestion idempotent."
    )
    origin = models.CharField(max_length=8, choices=Origin.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="recorded_stage_events",
        db_index=False,
        db_constraint=False,
    )

    # The API token that sent it (origin "api"). Kept when the token is deleted, as its id: the
    # log is never rewritten, and the token's audit history still names it.
    api_token = models.ForeignKey(
        "funnel.ApiToken",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "event_id"], name="stage_event_id_unique_per_team"
            ),
            models.CheckConstraint(
                condition=(Q(stage__isnull=False) & Q(outcome=""))
                | (Q(stage__isnull=True) & Q(outcome__in=Outcome.values)),
                name="stage_event_stage_xor_outcome",
            ),
            models.CheckConstraint(
                condition=Q(lost_reason="") | Q(outcome=Outcome.LOST),
                name="stage_event_lost_reason_only_when_lost",
            ),
            models.CheckConstraint(
                condition=Q(origin__in=Origin.values), name="stage_event_origin_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["deal", "occurred_at", "id"], name="stage_event_deal_time"),
            models.Index(fields=["team", "id"], name="stage_event_team_arrival"),
        ]
        # Append-only in the database too, whatever the path (raw SQL, the admin, a bulk
        # update): only deleting the team removes events (team_delete ignores these triggers),
        # and deleting a user may still clear recorded_by, as its SET_NULL asks.
        triggers = [
            pgtrigger.Protect(
                name="stage_event_no_update",
                operation=pgtrigger.Update,
                condition=reduce(
                    operator.or_,
                    (
                        pgtrigger.Q(**{f"old__{name}__df": pgtrigger.F(f"new__{name}")})
                        for name in EVENT_FIELDS_FIXED
                    ),
                    pgtrigger.Q(new__recorded_by__isnull=False),
                ),
            ),
            pgtrigger.Protect(name="stage_event_no_delete", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        what = self.stage.name if self.stage_id else self.get_outcome_display()
        return f"{self.deal} → {what} at {self.occurred_at:%Y-%m-%d %H:%M}"


class CharacteristicKind(models.TextChoices):
    YES_NO = "yes_no", "Yes / no"
    CHOICE = "choice", "Choice"
    NUMBER = "number", "Number"


@audited("CharacteristicHistory")
class Characteristic(models.Model):
    """An observable property of a deal, e.g. "decision maker engaged"."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="characteristics")
    slug = models.SlugField(max_length=60)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=8, choices=CharacteristicKind.choices)
    choices = models.JSONField(
        default=list, blank=True, help_text="Allowed values, for the choice kind."
    )
    definition = models.ForeignKey(
        "funnel.OperationalDefinition",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="characteristics",
    )
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["team", "position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "slug"], name="characteristic_slug_unique_per_team"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=CharacteristicKind.values), name="characteristic_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


@audited("ObservationHistory", exclude=["recorded_at"])
class Observation(AppendOnly):
    """What someone observed on a deal, with evidence. Append-only: a new value is a new row.

    The analysis uses each deal's latest value observed before it closed.
    """

    # A log like the stage events, and kept as lean: no database foreign-key checks (a trigger
    # per row at commit; imports write tens of thousands) and no index on deal alone, which
    # observation_latest leads with, nor on characteristic or observed_by (read only when one is
    # deleted; on a new team's empty table the planner probed by characteristic, scanning every
    # observation of the import so far for each row: 1.9 s instead of 0.1 s for 10,000). The
    # services that write observations check the deal and the team's characteristic; the ORM
    # cascades a deal's deletion and protects a characteristic that has observations.
    deal = models.ForeignKey(
        Deal,
        on_delete=models.CASCADE,
        related_name="observations",
        db_index=False,
        db_constraint=False,
    )
    characteristic = models.ForeignKey(
        Characteristic,
        on_delete=models.PROTECT,
        related_name="observations",
        db_index=False,
        db_constraint=False,
    )
    value = models.CharField(max_length=200, help_text="yes/no, the choice, or the number.")
    value_number = models.FloatField(null=True, blank=True)
    observed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="observations",
        db_index=False,
        db_constraint=False,
    )
    observed_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    evidence = models.TextField(blank=True)
    origin = models.CharField(max_length=8, choices=Origin.choices, default=Origin.UI)

    class Meta:
        ordering = ["observed_at", "id"]
        indexes = [
            models.Index(
                fields=["deal", "characteristic", "observed_at"], name="observation_latest"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deal}: {self.characteristic} = {self.value}"
