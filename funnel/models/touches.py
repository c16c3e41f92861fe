"""Touches: what a team did to a prospect (tactic, channel, when, who), and whether the prospect
responded, by the team's own versioned definition of a response per tactic."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from funnel.models.audit import audited
from funnel.models.deals import Deal, Origin
from funnel.models.team import Team


class Channel(models.TextChoices):
    PHONE = "phone", "Phone"
    EMAIL = "email", "E-mail"
    MEETING = "meeting", "Meeting"
    SOCIAL = "social", "Social"
    EVENT = "event", "Event or webinar"
    WEB = "web", "Web"
    MAIL = "mail", "Mail"
    OTHER = "other", "Other"


@audited("TacticHistory")
class Tactic(models.Model):
    """A way the team reaches prospects ("cold call", "webinar invite"), on one channel."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="tactics")
    slug = models.SlugField(max_length=60)
    name = models.CharField(max_length=120)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    cost_per_touch = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="What one touch costs, in the team's currency; empty if not known.",
    )
    # What counts as a response to this tactic, in words: versioned and agreed like any term.
    definition = models.ForeignKey(
        "funnel.OperationalDefinition",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tactics",
    )
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["team", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "slug"], name="tactic_slug_unique_per_team"),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="tactic_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(cost_per_touch__isnull=True) | Q(cost_per_touch__gte=0),
                name="tactic_cost_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ResponseRule(models.Model):
    """One version of a tactic's derived-response rule: a touch on a deal counts as answered
    when the deal enters a later stage (or is won) within `window_days` after it. Empty
    `window_days`: only responses recorded by a person or an import count. Versions are never
    edited; the latest one applies."""

    tactic = models.ForeignKey(Tactic, on_delete=models.CASCADE, related_name="response_rules")
    number = models.PositiveIntegerField()
    window_days = models.PositiveSmallIntegerField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tactic", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["tactic", "number"], name="response_rule_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(window_days__isnull=True) | Q(window_days__gte=1),
                name="response_rule_window_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tactic} response rule v{self.number}"


@audited("TouchHistory", inserts=False)
class Touch(models.Model):
    """One activity of the team towards a prospect or a deal. `touch_id` (unique per team)
    makes API batches and imports idempotent. `responded`: None when nobody recorded whether
    the prospect answered (the tactic's rule may still derive it), else the recorded answer."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="touches")
    touch_id = models.CharField(max_length=120, help_text="The sender's id of the touch.")
    tactic = models.ForeignKey(Tactic, on_delete=models.PROTECT, related_name="touches")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, null=True, blank=True, related_name="touches"
    )
    prospect = models.CharField(
        max_length=120, blank=True, help_text="The prospect's id when there is no deal."
    )
    occurred_at = models.DateTimeField()
    campaign = models.CharField(max_length=200, blank=True)
    content = models.CharField(max_length=300, blank=True)
    responded = models.BooleanField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    origin = models.CharField(max_length=8, choices=Origin.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="recorded_touches",
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "touch_id"], name="touch_id_unique_per_team"),
            models.CheckConstraint(
                condition=Q(deal__isnull=False) | ~Q(prospect=""), name="touch_deal_or_prospect"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="touch_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(origin__in=Origin.values), name="touch_origin_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["team", "tactic", "occurred_at"], name="touch_team_tactic_time"),
            models.Index(fields=["deal", "occurred_at"], name="touch_deal_time"),
        ]

    def __str__(self) -> str:
        return f"{self.tactic} → {self.deal or self.prospect} at {self.occurred_at:%Y-%m-%d}"


class TouchWeekCount(models.Model):
    """Kept by the recompute (funnel.pipeline.tactics) so the tactics page never reads raw
    touches: one tactic's touches in one week (from Monday, in the app's time zone) in one
    station: the station of the stage the deal was in at the touch ('' when it had none: a
    prospect without a deal, or a deal before its first stage).

    Deals are counted once per period, in the week of their LAST answered touch: summed over
    the weeks from any week to the latest touch, that is the number of distinct deals answered
    in them (the page's periods all run to the latest touch). `deals_answered` takes the deal's
    last answer in this station; `deals_answered_any` its last answer in any station, filed
    under the station it fell in, so the sum over every station counts each deal once.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="touch_week_counts")
    tactic = models.ForeignKey(Tactic, on_delete=models.CASCADE, related_name="week_counts")
    station = models.CharField(max_length=16, blank=True)
    week = models.DateField(help_text="The Monday the week starts on.")
    touches = models.PositiveIntegerField()
    answers = models.PositiveIntegerField()
    deal_answers = models.PositiveIntegerField(help_text="Answers on touches of a deal.")
    answers_advanced = models.PositiveIntegerField(
        help_text="Answers on deals that later reached a later stage or were won."
    )
    deals_answered = models.PositiveIntegerField()
    deals_answered_won = models.PositiveIntegerField()
    deals_answered_any = models.PositiveIntegerField()
    deals_answered_any_won = models.PositiveIntegerField()

    class Meta:
        ordering = ["team", "week", "tactic", "station"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "tactic", "station", "week"], name="touch_week_count_unique"
            ),
            models.CheckConstraint(
                condition=Q(answers__lte=models.F("touches")), name="touch_week_answers_le_touches"
            ),
        ]
        indexes = [models.Index(fields=["team", "week"], name="touch_week_count_team_week")]

    def __str__(self) -> str:
        where = self.station or "no stage"
        return f"{self.tactic_id} {where} {self.week}: {self.answers}/{self.touches}"


class ProspectWeekCount(models.Model):
    """Kept with TouchWeekCount, for "does touching again pay?": prospects by how many touches
    they had in a period. A prospect (a deal, or the sender's prospect id) is counted in the
    row of `at_least` = k in the week of its k-th LAST touch (k = 1 ... 5): summed from any
    week to the latest touch, that is how many prospects had at least k touches in those weeks.
    `answered` counts the same prospects in the earlier of that week and the week of their last
    answer, so both fall in the period. The `_any` columns count touches in every station,
    filed under the station of that k-th last touch; the others count within the station."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="prospect_week_counts")
    station = models.CharField(max_length=16, blank=True)
    week = models.DateField(help_text="The Monday the week starts on.")
    at_least = models.PositiveSmallIntegerField()
    prospects = models.PositiveIntegerField()
    answered = models.PositiveIntegerField()
    prospects_any = models.PositiveIntegerField()
    answered_any = models.PositiveIntegerField()

    class Meta:
        ordering = ["team", "week", "station", "at_least"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "station", "week", "at_least"], name="prospect_week_count_unique"
            ),
            models.CheckConstraint(
                condition=Q(at_least__gte=1, at_least__lte=5), name="prospect_week_at_least_1_5"
            ),
        ]
        indexes = [models.Index(fields=["team", "week"], name="prospect_week_count_team_week")]

    def __str__(self) -> str:
        return f"{self.team_id} {self.station or 'no stage'} {self.week} ≥{self.at_least}"
