"""What an import run sets up before it writes rows: the mapping saved for the next file with
the same header, the file's new characteristics, and the owners its rows name."""

from __future__ import annotations

from django.db import transaction

from funnel.imports.parsing import CsvTable, header_signature
from funnel.imports.rows import PlanBuilder
from funnel.imports.writes import (
    import_characteristic_choices_set,
    import_characteristics_prepare,
    import_owners_create,
)
from funnel.models import ImportJob, ImportMapping


class ImportPreparation:
    """What must exist before rows are written: the mapping saved, the file's new
    characteristics (their choices filled in at the end), and the owners the rows name."""

    def __init__(self, *, job: ImportJob, table: CsvTable, mapping: dict, builder: PlanBuilder):
        self.team = job.team
        self.owners_created: list[str] = []
        self.owners_known: set[str] = set()
        with transaction.atomic():
            ImportMapping.objects.update_or_create(
                team=self.team,
                header_signature=header_signature(table.header),
                defaults={"shape": mapping["shape"], "mapping": mapping},
            )
            self.characteristic_ids, self.characteristics_created = import_characteristics_prepare(
                team=self.team,
                new={slug: (name, []) for slug, (name, _) in builder.new_characteristics().items()},
            )

    def before_write(self, builder: PlanBuilder) -> None:
        """Add the owners that rows converted since the last call name."""
        owners = {
            name: email
            for name, email in builder.plan.owners_to_create.items()
            if name not in self.owners_known
        }
        if owners:
            with transaction.atomic():
                self.owners_created += import_owners_create(team=self.team, owners=owners)
            self.owners_known.update(owners)

    def finish(self, builder: PlanBuilder) -> None:
        """The new characteristics' choices: every value of the file."""
        new = builder.new_characteristics()
        import_characteristics_prepare(team=self.team, new=new)  # values stored ones lack
        import_characteristic_choices_set(
            team=self.team, new=new, slugs=self.characteristics_created
        )
