"""Browser writes carry their user and address into the audit history."""

import pghistory.middleware
from django.db import connection


class HistoryMiddleware(pghistory.middleware.HistoryMiddleware):
    """pghistory's middleware (user and url of each POST/PUT/PATCH/DELETE), on PostgreSQL only:
    its context is a PostgreSQL setting put before each statement."""

    def get_context(self, request) -> dict:
        return {**super().get_context(request), "via": "browser"}

    def __call__(self, request):
        if connection.vendor != "postgresql":
            return self.get_response(request)
        return super().__call__(request)
