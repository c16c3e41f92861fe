"""How deal data gets in: team-scoped API tokens, CSV import jobs and saved column mappings."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from funnel.models.audit import audited
from funnel.models.team import Team

TOKEN_PREFIX = "kz"


# Never the token's hash, and not each use (last_used_at changes on every request).
@audited("ApiTokenHistory", exclude=["token_hash", "last_used_at", "created_at"])
class ApiToken(models.Model):
    """A team-scoped API token. Only its SHA-256 is stored; the token is shown once."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, help_text="Who uses it, e.g. 'HubSpot sync'.")
    prefix = models.CharField(max_length=16, db_index=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    can_manage = models.BooleanField(
        default=False,
        help_text="May also change the team's set-up (PUT /api/v1/stages), as a manager may.",
    )

    class Meta:
        ordering = ["team", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_token(token: str) -> str:
        # Tokens are 256-bit random strings, so a fast hash is as safe as a slow one here.
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def generate(cls) -> tuple[str, str, str]:
        """A new token, its display prefix and its hash."""
        prefix = secrets.token_hex(4)
        token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        return token, prefix, cls.hash_token(token)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ImportShape(models.TextChoices):
    EVENTS = "events", "One row per stage event"
    DEALS = "deals", "One row per deal (CRM export)"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    INVALID = "invalid", "Has errors"
    VALID = "valid", "Validated"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ReopenChoice(models.TextChoices):
    """What an import does with a deal its file reopens after the deal was closed."""

    UNDECIDED = "", "Nothing to decide"
    REOPEN = "reopen", "Reopen these deals (apply the later rows)"
    KEEP_CLOSED = "keep_closed", "Keep them closed (skip the rows after the close)"


class ImportJob(models.Model):
    """One uploaded CSV file on its way in: preview, mapping, validation, import, summary.

    The file's bytes are kept in the database so that any worker can read them.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="import_jobs")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    filename = models.CharField(max_length=255)
    content = models.BinaryField()
    size = models.PositiveIntegerField()
    shape = models.CharField(max_length=8, choices=ImportShape.choices, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{row, column, message}]")
    error_count = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    on_reopen = models.CharField(
        max_length=12,
        choices=ReopenChoice.choices,
        blank=True,
        default=ReopenChoice.UNDECIDED,
        help_text="The manager's choice for deals the file reopens after their close.",
    )
    skip_bad_rows = models.BooleanField(
        default=False, help_text="Import the valid rows; the rows with a problem are skipped."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the job was queued, started or last committed a chunk: the sweeper "
        "takes a running job whose heartbeat is old as one whose worker died.",
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Runs started since the job was queued (or retried)."
    )
    written = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the committed chunks wrote, over every attempt: the counts a resumed "
        "run's summary starts from.",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ImportStatus.values), name="import_job_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(on_reopen__in=ReopenChoice.values), name="import_job_on_reopen_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class ImportMapping(models.Model):
    """A column mapping saved for next time, keyed by the file's header row."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="import_mappings")
    header_signature = models.CharField(max_length=64, help_text="SHA-256 of the header row.")
    shape = models.CharField(max_length=8, choices=ImportShape.choices)
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "header_signature"], name="import_mapping_unique_per_header"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team} mapping {self.header_signature[:8]}"
