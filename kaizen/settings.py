"""One settings module, configured from the environment.

Every variable is listed in README.md. With nothing set, the app runs on its embedded default:
an SQLite file in the project folder and Celery in eager mode (tasks run in process on commit).
"""

import datetime as dt
import importlib.util
import os
import secrets
import sys
from pathlib import Path

import dj_database_url
import pghistory
import pgtrigger
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)
# The test runner gets a throwaway secret, plain HTTP and static files served from the source
# folders; everything else in it is as in production.
TESTING = "pytest" in sys.modules or sys.argv[1:2] == ["test"]

# A management command run from a shell (migrate, create_team, import_csv, ...) signs nothing
# that outlives its process, so without SECRET_KEY it gets a random key of its own. Serving
# (gunicorn, runserver), the Celery worker and `check` (whose --deploy must see the real key)
# never do: they refuse to start, and manage.py prints the reason in one line.
SHELL_COMMAND = (
    Path(sys.argv[0]).name == "manage.py"
    and len(sys.argv) > 1
    and sys.argv[1] not in {"runserver", "testserver", "check"}
)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
    elif SHELL_COMMAND:
        SECRET_KEY = secrets.token_urlsafe(50)
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (in production), or DEBUG=1 for local use."
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",  # login lockout: per account and per address
    "ninja",  # serves the API docs' Swagger UI from static files instead of a CDN
    "pgtrigger",  # database triggers: the stage-event log's append-only guard
    "pghistory",  # the audit history of every write (PostgreSQL triggers; none on SQLite)
    "funnel",
    "kaizen",
]
# The benchmark and diagnostic commands (bench/): nothing in the product imports them, and the
# production image leaves them out (.dockerignore).
if importlib.util.find_spec("bench") is not None:
    INSTALLED_APPS.append("bench")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A database that cannot be reached answers 503 with Retry-After, not 500.
    "kaizen.unavailable.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "kaizen.headers.PermissionsPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Who made a browser write, for the audit history (PostgreSQL only).
    "funnel.audit.middleware.HistoryMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# The audit history's tables (funnel.models.audit): no index on the foreign keys a row copies
# (team, owner, deal ...), each would cost every import's row trigger; the tracked object's id is
# indexed, for each page's History.
PGHISTORY_FOREIGN_KEY_FIELD = pghistory.ForeignKey(db_index=False)
# One trigger run per statement (reading its transition table), not per row, and the context
# stored in each history row rather than upserted into a shared table for each: a COPY of
# 20,000 deals then adds one set-based insert, not 20,000 trigger calls and context upserts.
PGHISTORY_LEVEL = pgtrigger.Statement
PGHISTORY_CONTEXT_FIELD = pghistory.ContextJSONField()
# The request context (user, url) is for writes: pghistory's default also wraps GETs, which
# then prepend two set_config() calls to every read statement of every page for nothing.
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# Login throttling (django-axes), on the app's login and the admin's: after
# LOGIN_FAILURE_LIMIT wrong passwords for one account, or LOGIN_ADDRESS_FAILURE_LIMIT from one
# address (an office shares one), that account or address is locked for LOGIN_COOLOFF_MINUTES;
# each lockout is logged. A successful login resets the account's count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Content-Security-Policy (Django's own): scripts only from our static files (htmx, the charts'
# and forms' small scripts, the API docs' Swagger UI), no inline script anywhere; inline style
# attributes stay allowed (bar widths and chart colours are set per figure).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "accelerometer=(), gyroscope=(), magnetometer=()"
)

# The cache: the dashboards' figures and the API's rate counts. In process by default; with
# several web workers set CACHE_URL (redis://...) so that they share one.
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# With a shared cache, sessions are read from it (written through to the database): a signed-in
# request then costs no database query for its session. Not with the per-process default,
# where a logout in one process would leave the session cached in the others.
if CACHE_URL:
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# API limits (funnel/api/throttle.py): requests per token, and unknown tokens per address.
API_TOKEN_RATE = os.environ.get("API_TOKEN_RATE", "1200/min")
API_BAD_TOKEN_LIMIT = int(os.environ.get("API_BAD_TOKEN_LIMIT", "20"))
API_BAD_TOKEN_WINDOW = int(os.environ.get("API_BAD_TOKEN_WINDOW", "300"))
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("LOGIN_ADDRESS_FAILURE_LIMIT", "30"))
AXES_HANDLER = "funnel.members.lockout.AccountOrAddressHandler"
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "funnel.members.lockout.lockout_response"

ROOT_URLCONF = "kaizen.urls"
# Where the tactics page (funnel) sends "Test a change" on a tactic: the new-cycle form of the
# improvement loop, named here because funnel never imports kaizen. Empty: no such link.
TACTIC_CYCLE_URL_NAME = "kaizen:cycle_new"
WSGI_APPLICATION = "kaizen.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "funnel.context_processors.confidence",
                "funnel.context_processors.navigation",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A busy timeout and IMMEDIATE transactions keep the eager-mode recompute from tripping over
    # the request that scheduled it.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Parallel developers and CI runs can keep their test databases apart.
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- E-mail (invitations) ----------------------------------------------------------------------
# The console backend by default: the invitation e-mail, with its link, is printed by the server.
# With EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend the EMAIL_HOST... variables apply.
EMAIL_BACKEND_PATH = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
MAILER_OPTIONS = {}
if EMAIL_BACKEND_PATH == "django.core.mail.backends.smtp.EmailBackend":
    MAILER_OPTIONS = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": int(os.environ.get("EMAIL_PORT", "25")),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS"),
    }
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH, "OPTIONS": MAILER_OPTIONS}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Sales Kaizen <kaizen@localhost>")

# --- I18N -------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

# --- Security (production values unless DEBUG) ------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not (DEBUG or TESTING))
# Probes ask over plain HTTP from inside the network (docker-compose, load balancers).
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Uploads: CSV files are limited by the import itself; this caps everything else.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024))
# The API refuses larger request bodies with 413 before reading or parsing them. A full batch of
# 1,000 events is about 300 KB, so 2 MiB leaves room without inviting abuse.
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", 2 * 1024 * 1024))

# --- Celery -----------------------------------------------------------------------------------
# No broker configured means the embedded default: tasks run eagerly, in process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
# A killed worker must not lose a task: acknowledge after the run, requeue when the worker dies,
# take one message at a time. The visibility timeout outlasts the hard time limit.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * CELERY_TASK_TIME_LIMIT}
# The winnable analysis scans every closed deal (seconds at a million): a recompute refreshes it
# at most this often, and the sweeper catches up on what a throttled run left stale.
WINNABLE_REFRESH_SECONDS = int(os.environ.get("WINNABLE_REFRESH_SECONDS", 0 if TESTING else 300))
# A team run that finds another run of the same team under way (any worker, any host) is sent
# again after this many seconds instead of running beside it (funnel.pipeline.run_lock).
TEAM_BUSY_RETRY_SECONDS = float(os.environ.get("TEAM_BUSY_RETRY_SECONDS", "2"))
# The tactics page's counts re-judge every touch (seconds at a million): rebuilt at most this often.
TACTICS_REFRESH_SECONDS = int(os.environ.get("TACTICS_REFRESH_SECONDS", 0 if TESTING else 300))
# An import whose heartbeat (its start, each committed chunk) is older than this lost its worker:
# the sweeper queues it again, up to IMPORT_MAX_ATTEMPTS runs, then marks it failed with a Retry.
IMPORT_STALE_SECONDS = int(os.environ.get("IMPORT_STALE_SECONDS", "120"))
# A queued import no worker took in this long: its message is sent again (a duplicate is harmless).
IMPORT_QUEUED_STALE_SECONDS = int(os.environ.get("IMPORT_QUEUED_STALE_SECONDS", "300"))
IMPORT_MAX_ATTEMPTS = int(os.environ.get("IMPORT_MAX_ATTEMPTS", "3"))
CELERY_BEAT_SCHEDULE = {
    # Broker messages are hints; the database is the truth: re-enqueue stale teams.
    "teams-sweep": {"task": "funnel.pipeline.teams_sweep", "schedule": 60.0},
    # An import whose worker died is queued again (or failed after its attempts).
    "imports-sweep": {"task": "funnel.imports.import_jobs_sweep", "schedule": 60.0},
    # Nightly repair of any drift between the event log and the derived counts.
    "teams-full-rebuild": {
        "task": "funnel.pipeline.teams_rebuild",
        "schedule": crontab(hour=3, minute=15),
    },
    # Orphans and team mismatches that the dropped foreign keys no longer prevent.
    "integrity-check": {
        "task": "funnel.pipeline.integrity_check",
        "schedule": crontab(hour=3, minute=45),
    },
    # The Check of every PDCA cycle whose Do window has ended.
    "cycles-check-due": {
        "task": "kaizen.tasks.cycles_check_due_task",
        "schedule": crontab(minute=5),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# The CSV import's set-based route on PostgreSQL (funnel.imports.sets): IMPORT_SET_BASED=1.
# Off by default: on the 2-core development machine it was not yet faster than the row-by-row
# path (docs/performance.md, bench_import).
IMPORT_SET_BASED = os.environ.get("IMPORT_SET_BASED", "") == "1"
