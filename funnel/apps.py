from django.apps import AppConfig
from django.db.backends.signals import connection_created

from funnel.db_loaders import out_of_range_dates_readable


class FunnelConfig(AppConfig):
    name = "funnel"
    verbose_name = "Sales funnel"

    def ready(self) -> None:
        # Dates PostgreSQL holds but Python cannot are read clamped, never raised on.
        connection_created.connect(out_of_range_dates_readable, dispatch_uid="funnel-dates")
