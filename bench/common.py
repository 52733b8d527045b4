"""What the benchmark scripts share: Django on a PostgreSQL database of their own."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(database: str) -> None:
    """Django against postgres://postgres@127.0.0.1:5432/<database> unless DATABASE_URL says."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{database}")
    import django

    django.setup()


def recreate_database() -> None:
    """Drop, create and migrate the benchmark database (its name must contain 'bench')."""
    import psycopg
    from django.conf import settings
    from django.core.management import call_command

    name = settings.DATABASES["default"]["NAME"]
    if "bench" not in name:
        sys.exit(f"Refusing to drop {name!r}: the benchmark database name must contain 'bench'.")
    admin_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)
