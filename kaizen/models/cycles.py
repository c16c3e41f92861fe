"""PDCA cycles: a small experiment at the bottleneck whose Check is computed, not claimed."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from funnel.models.audit import audited


class Phase(models.TextChoices):
    PLAN = "plan", "Plan"
    DO = "do", "Do"
    CHECK = "check", "Check"
    ACT = "act", "Act"
    CLOSED = "closed", "Closed"


class CycleMetric(models.TextChoices):
    CONVERSION = "conversion", "Stage conversion"
    ARRIVALS = "arrivals", "Arrivals per week"
    RESPONSE_RATE = "response_rate", "Answer rate of a tactic"


class Direction(models.TextChoices):
    UP = "up", "Up"
    DOWN = "down", "Down"


class ActDecision(models.TextChoices):
    ADOPT = "adopt", "Adopt"
    ADAPT = "adapt", "Adapt"
    ABANDON = "abandon", "Abandon"


class PlanLockedError(Exception):
    """A committed plan's baseline was about to change."""


# Captured when the plan is committed; never changed afterwards (the Check compares against it).
BASELINE_FIELDS = (
    "baseline_from",
    "baseline_to",
    "baseline_value",
    "baseline_low",
    "baseline_high",
    "baseline_successes",
    "baseline_n",
    "baseline_limits",
    "committed_at",
)


# Its own CycleEvent journal says what each action meant; this records every write of the row,
# whatever path made it.
@audited("CycleHistory", exclude=["updated_at", "phase_changed_at", "created_at"])
class Cycle(models.Model):
    team = models.ForeignKey("funnel.Team", on_delete=models.CASCADE, related_name="cycles")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    title = models.CharField(max_length=160)
    stage = models.ForeignKey(
        "funnel.Stage", on_delete=models.SET_NULL, null=True, blank=True, related_name="cycles"
    )
    station = models.CharField(max_length=16, blank=True)
    metric = models.CharField(
        max_length=16, choices=CycleMetric.choices, default=CycleMetric.CONVERSION
    )
    # The tactic whose answer rate the cycle means to move (its metric is the response rate).
    # RESTRICT: a tactic with cycles is retired, never deleted, so their Checks keep their series.
    tactic = models.ForeignKey(
        "funnel.Tactic", on_delete=models.RESTRICT, null=True, blank=True, related_name="cycles"
    )
    problem = models.TextField(blank=True, help_text="The current condition, in numbers.")
    target_condition = models.TextField(blank=True)
    hypothesis = models.TextField(blank=True)
    predicted_direction = models.CharField(max_length=4, choices=Direction.choices, blank=True)
    predicted_size = models.FloatField(
        null=True,
        blank=True,
        help_text="Percentage points (conversion, answer rate) or deals a week.",
    )
    countermeasure = models.TextField(blank=True)
    do_start = models.DateField(null=True, blank=True)
    do_end = models.DateField(null=True, blank=True)
    comparison_team = models.ForeignKey(
        "funnel.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    baseline_from = models.DateField(null=True, blank=True)
    baseline_to = models.DateField(null=True, blank=True)
    baseline_value = models.FloatField(null=True, blank=True)
    baseline_low = models.FloatField(null=True, blank=True)
    baseline_high = models.FloatField(null=True, blank=True)
    baseline_successes = models.IntegerField(null=True, blank=True)
    baseline_n = models.IntegerField(null=True, blank=True)
    baseline_limits = models.JSONField(null=True, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)

    phase = models.CharField(max_length=8, choices=Phase.choices, default=Phase.PLAN)
    phase_changed_at = models.DateTimeField(auto_now_add=True)
    check_result = models.JSONField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    act_decision = models.CharField(max_length=8, choices=ActDecision.choices, blank=True)
    learnings = models.TextField(blank=True)
    follow_up = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="follow_up_of"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(phase__in=Phase.values), name="cycle_phase_valid"),
            models.CheckConstraint(
                condition=Q(metric__in=CycleMetric.values), name="cycle_metric_valid"
            ),
            models.CheckConstraint(
                condition=Q(do_end__isnull=True)
                | Q(do_start__isnull=True)
                | Q(do_end__gte=models.F("do_start")),
                name="cycle_do_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(metric=CycleMetric.RESPONSE_RATE, tactic__isnull=False)
                | (~Q(metric=CycleMetric.RESPONSE_RATE) & Q(tactic__isnull=True)),
                name="cycle_tactic_iff_response_rate",
            ),
        ]
        indexes = [models.Index(fields=["team", "phase"], name="cycle_team_phase")]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        # The last line of defence for the baseline: whatever code path saves a committed
        # cycle, it cannot rewrite what the Check is compared against.
        loaded = getattr(self, "_baseline_loaded", None)
        if loaded is not None and loaded[-1] is not None and self._baseline() != loaded:
            raise PlanLockedError("The baseline was captured when the plan was committed.")
        super().save(*args, **kwargs)
        self._baseline_loaded = self._baseline()

    @classmethod
    def from_db(cls, db, field_names, values, *args, **kwargs):
        instance = super().from_db(db, field_names, values, *args, **kwargs)
        # A partial load (the delete collector's .only("pk")) has no baseline to guard: reading
        # a deferred field here would load the row again, and again.
        if not instance.get_deferred_fields() & set(BASELINE_FIELDS):
            instance._baseline_loaded = instance._baseline()
        return instance

    def _baseline(self) -> tuple:
        return tuple(getattr(self, name) for name in BASELINE_FIELDS)

    @property
    def is_committed(self) -> bool:
        return self.committed_at is not None

    @property
    def is_conversion(self) -> bool:
        return self.metric == CycleMetric.CONVERSION

    @property
    def is_proportion(self) -> bool:
        """A share of n (decided deals, touches) rather than a count a week."""
        return self.metric != CycleMetric.ARRIVALS


class CycleNote(models.Model):
    """A dated journal entry: what was done, seen or heard during the cycle."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"note on {self.cycle_id} by {self.author_id}"


class CycleEvent(models.Model):
    """History: who changed what on a cycle and when (actor None: the scheduled Check)."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=40)
    changes = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} on cycle {self.cycle_id}"


class StandardWork(models.Model):
    """A change a team adopted after its Check: the team's current standard work."""

    team = models.ForeignKey("funnel.Team", on_delete=models.CASCADE, related_name="standard_work")
    cycle = models.OneToOneField(Cycle, on_delete=models.PROTECT, related_name="standard_work")
    stage = models.ForeignKey("funnel.Stage", on_delete=models.SET_NULL, null=True, blank=True)
    text = models.TextField()
    adopted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    adopted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-adopted_at"]

    def __str__(self) -> str:
        return self.text[:60]
