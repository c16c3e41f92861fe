"""What the recompute reads and writes.

DealPassage and StageFlow are kept exact by the ingestion transaction (a deal's passages are
re-derived from its event log whenever an event for it arrives, and the difference is applied to
StageFlow as a delta), so the recompute never has to read the raw log. The snapshots
(StageMetric, BottleneckStatus) are what the dashboards read.
"""

from django.db import models
from django.db.models import Q

from funnel.models.deals import Deal
from funnel.models.team import Stage, Team


class PassageResult(models.TextChoices):
    ADVANCED = "advanced", "Advanced"
    LOST = "lost", "Lost"
    OPEN = "open", "Still open"


class DealPassage(models.Model):
    """One deal's passage through one stage (derived from its events; one row per deal and stage).

    A deal that reached a stage has passed every stage before it: those it skipped are passages
    with `skipped` set, entered and left when it reached the later stage.
    """

    # Derived rows rewritten by every drain: indexed only as read, (deal, stage) and (team,
    # stage); the database checks the deal, the drain takes team and stage from it.
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="passages", db_index=False
    )
    stage = models.ForeignKey(
        Stage, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=8, choices=PassageResult.choices)
    skipped = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deal", "stage"], name="deal_passage_one_per_stage"),
            models.CheckConstraint(
                condition=Q(result__in=PassageResult.values), name="deal_passage_result_valid"
            ),
        ]
        indexes = [models.Index(fields=["team", "stage"], name="deal_passage_team_stage")]

    def __str__(self) -> str:
        return f"deal {self.deal_id} in stage {self.stage_id}: {self.result}"


class PendingDeal(models.Model):
    """A deal with events that its passages and the StageFlow counts have not taken in yet.

    Ingestion marks every deal a batch touched, in the batch's own transaction, so a mark is
    never lost: it commits with the events. The team's recompute drains the marks under the
    team lock, re-deriving each deal while holding its row lock (which every writer takes before
    adding events), and deletes the mark in the same transaction. A queue of hints, so no
    database foreign keys: they would cost every batch a check per row, and the drain skips a
    mark whose deal is gone.
    """

    deal = models.OneToOneField(
        Deal, on_delete=models.CASCADE, primary_key=True, related_name="+", db_constraint=False
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+", db_constraint=False)

    def __str__(self) -> str:
        return f"deal {self.deal_id} pending"


class DealChanged(models.Model):
    """The deals one statement inserted, updated or deleted, since their team's last verdict
    read the open deals (funnel.pipeline.open_deals). Written by statement triggers on the
    deal table (on Deal), one row per statement and team, so every path leaves one alike: the
    ingest, both import routes, stage merges, the admin, raw SQL, deletes. A run takes its
    team's rows in its own transaction and reads only those deals again; a run that reads every
    open deal clears them. Hints, not rows of the domain: no foreign keys (a deleted deal's id
    says it is gone). Only a session with `session_replication_role = replica` writes without
    them: the benchmarks' bulk loads, of new teams that no worker keeps yet."""

    team_id = models.BigIntegerField(db_index=True)
    deal_ids = models.JSONField()

    def __str__(self) -> str:
        return f"{len(self.deal_ids)} deal(s) of team {self.team_id} changed"


class FlowKind(models.TextChoices):
    ENTERED = "entered", "Entered"
    ADVANCED = "advanced", "Advanced"
    LOST = "lost", "Lost"


class StageFlow(models.Model):
    """How many deals entered a stage, or left it advancing or lost, in a week.

    `days` is the whole number of days the deal spent in the stage (-1 for entries and for
    stages a deal skipped), so medians and percentiles of days in stage come from these counts.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    week = models.DateField(help_text="Monday of the week.")
    kind = models.CharField(max_length=8, choices=FlowKind.choices)
    days = models.SmallIntegerField()
    count = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "stage", "week", "kind", "days"], name="stage_flow_unique_cell"
            ),
        ]

    def __str__(self) -> str:
        return f"stage {self.stage_id} {self.week} {self.kind} {self.days}d: {self.count}"


class RecomputeState(models.Model):
    """Per team: whether a recompute is queued, and the watermark of the last one.

    `queued` debounces: a burst of writes enqueues one run while one is waiting; a run clears it
    as it starts, so writes during a run enqueue exactly one trailing run.
    """

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="recompute_state")
    queued = models.BooleanField(default=False)
    requested_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    watermark = models.BigIntegerField(default=0, help_text="Last stage event id included.")
    runs = models.PositiveIntegerField(default=0)
    winnable_at = models.DateTimeField(
        null=True, blank=True, help_text="When the winnable counts were last rebuilt."
    )
    winnable_stale = models.BooleanField(
        default=False, help_text="A run since then skipped the winnable rebuild (throttled)."
    )
    tactics_at = models.DateTimeField(
        null=True, blank=True, help_text="When the tactics page's counts were last rebuilt."
    )
    tactics_horizon = models.DateTimeField(
        null=True, blank=True, help_text="The latest touch the tactics counts include."
    )
    tactics_stale = models.BooleanField(
        default=False,
        help_text="Touches, events or a response rule changed since (the rebuild is throttled).",
    )
    # The stale rule the passages were derived under (set by the rebuild, read by the drain),
    # so every deal is judged against the same cut until the next rebuild.
    stale_days = models.PositiveSmallIntegerField(null=True, blank=True)
    stale_as_of = models.DateTimeField(null=True, blank=True)
    # The last run that failed, kept until a run succeeds: the team's figures are frozen at the
    # last good run, and the pages and the admin say so and why.
    failed_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=500, blank=True)
    # A write asked for a rebuild while the broker was down: the next sweep sends it.
    rebuild_wanted = models.BooleanField(default=False)
    # The StageFlow cells ([stage id, week]) the drains changed since the last snapshot, and
    # the token of that snapshot: a run recomputes only those (funnel.pipeline.touched). None:
    # unknown (a rebuild, a new team), the next run recomputes everything.
    flow_touched = models.JSONField(null=True, blank=True, default=None)

    def __str__(self) -> str:
        return f"team {self.team_id} recompute through event {self.watermark}"


class CompanyRecomputeState(models.Model):
    """The company roll-up's debounce flag: one row (id 1). Team runs ask for a roll-up; while
    one is queued, further asks add nothing, and the run clears the flag as it starts."""

    queued = models.BooleanField(default=False)
    requested_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return "company roll-up"


class StageMetric(models.Model):
    """Per team (or company-wide when team is empty), per stage and week: the weekly figures."""

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="stage_metrics"
    )
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, null=True, blank=True)
    station = models.CharField(max_length=16)
    position = models.PositiveSmallIntegerField()
    week = models.DateField()
    entered = models.IntegerField(default=0)
    advanced = models.IntegerField(default=0)
    lost = models.IntegerField(default=0)
    conversion = models.FloatField(null=True, blank=True)
    conversion_low = models.FloatField(null=True, blank=True)
    conversion_high = models.FloatField(null=True, blank=True)
    days_median = models.FloatField(null=True, blank=True)
    days_p85 = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["team", "position", "week"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "position", "week"],
                condition=Q(team__isnull=False),
                name="stage_metric_unique_per_team",
            ),
            models.UniqueConstraint(
                fields=["position", "week"],
                condition=Q(team__isnull=True),
                name="stage_metric_unique_company",
            ),
        ]

    def __str__(self) -> str:
        return f"team {self.team_id} stage {self.position} week {self.week}"


class Verdict(models.TextChoices):
    BOTTLENECK = "bottleneck", "Bottleneck"
    NO_CLEAR = "no_clear_bottleneck", "No clear bottleneck"
    NOT_ENOUGH_DATA = "not_enough_data", "Not enough data"


class BottleneckStatus(models.Model):
    """The verdict of one recompute, kept as history so one can see when the bottleneck moved."""

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="bottleneck_statuses"
    )
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    stage = models.ForeignKey(Stage, on_delete=models.SET_NULL, null=True, blank=True)
    station = models.CharField(max_length=16, blank=True)
    gap_per_week = models.FloatField(null=True, blank=True, help_text="Won deals a week.")
    figures = models.JSONField(default=dict, help_text="The arithmetic behind the verdict.")
    watermark = models.BigIntegerField(help_text="Last stage event id included.")
    computed_at = models.DateTimeField()
    changed = models.BooleanField(
        default=False, help_text="The verdict, stage or station differs from the previous one."
    )

    class Meta:
        ordering = ["-computed_at", "-id"]
        indexes = [models.Index(fields=["team", "-computed_at"], name="bottleneck_team_latest")]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()} ({self.station or '-'}) at {self.computed_at}"
