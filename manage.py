#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

A setting that is missing, or a database that is missing or not migrated, ends the command with
one line naming what to set or run, instead of a traceback.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaizen.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import DatabaseError

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:
        sys.exit(f"manage.py: {error}")
    except DatabaseError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        sys.exit(
            f"manage.py: database error: {first_line}. Check DATABASE_URL, and that the "
            "database is migrated (uv run python manage.py migrate)."
        )


if __name__ == "__main__":
    main()
