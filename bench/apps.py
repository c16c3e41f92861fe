from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Benchmarks, generators and diagnostics: may import anything; nothing imports it."""

    name = "bench"
    default_auto_field = "django.db.models.BigAutoField"
