from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.module_loading import import_string

from funnel.db_loaders import out_of_range_dates_readable


class FunnelConfig(AppConfig):
    name = "funnel"
    verbose_name = "Sales funnel"

    def ready(self) -> None:
        # Dates PostgreSQL holds but Python cannot are read clamped, never raised on.
        connection_created.connect(out_of_range_dates_readable, dispatch_uid="funnel-dates")
        # Teams made before touches get the default tactics. The services module imports the
        # models, which exist only once the apps are ready, so it is named here, not imported.
        post_migrate.connect(
            import_string("funnel.touches.services.tactics_defaults_after_migrate"),
            sender=self,
            dispatch_uid="funnel-tactics",
        )
