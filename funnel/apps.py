from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate

from funnel.db_loaders import out_of_range_dates_readable


class FunnelConfig(AppConfig):
    name = "funnel"
    verbose_name = "Sales funnel"

    def ready(self) -> None:
        # Dates PostgreSQL holds but Python cannot are read clamped, never raised on.
        connection_created.connect(out_of_range_dates_readable, dispatch_uid="funnel-dates")
        post_migrate.connect(_default_tactics, sender=self, dispatch_uid="funnel-tactics")


def _default_tactics(sender, **kwargs) -> None:
    # Services import the models, which exist only once the apps are ready.
    from funnel.touches.services import tactics_defaults_for_teams_without

    tactics_defaults_for_teams_without()
