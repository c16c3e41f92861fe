"""The audit history: which models PostgreSQL records every write of, and how.

django-pghistory installs a row trigger per tracked model that copies the row into its
`<Model>History` table on insert, update and delete, with the context of the write (who, through
what: see funnel.audit.context). Being triggers, they see every path alike: the ORM, bulk
updates, raw SQL and COPY. On SQLite (the embedded default) there are no triggers and no history.
"""

import pghistory


def audited(model_name: str, *, inserts: bool = True, **options):
    """Track inserts, updates (only when a tracked field changes) and deletes of a model.
    Without `inserts`, for high-volume rows whose creation the row itself records (who, when,
    through what): only their later changes and deletion are history."""
    events = [pghistory.UpdateEvent(), pghistory.DeleteEvent()]
    if inserts:
        events.insert(0, pghistory.InsertEvent())
    return pghistory.track(
        *events,
        model_name=model_name,
        obj_field=pghistory.ObjForeignKey(
            related_name="history", related_query_name="history", db_index=True
        ),
        **options,
    )
