"""The PostgreSQL connection: parameters travel apart from the SQL, so a statement a
connection runs often is planned once and then run from its prepared form."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from fees.models import JournalEntry
from tests.factories import FeeFactory, PatronFactory

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db]


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_run_for_several_patrons_is_prepared_once():
    patrons = PatronFactory.create_batch(6)
    for patron in patrons:
        FeeFactory(patron=patron)

    found = [JournalEntry.objects.filter(patron=patron).get().patron_id for patron in patrons]

    assert found == [patron.pk for patron in patrons]
    journal_reads = [
        sql
        for sql in _prepared_statements()
        if sql.startswith("SELECT") and "fees_journalentry" in sql
    ]
    assert len(journal_reads) == 1 and '"patron_id" = $1' in journal_reads[0]


def test_prepared_statements_can_be_switched_off():
    answer = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.db import connection; import django; django.setup();"
            " print(connection.features.uses_server_side_binding,"
            " connection.get_connection_params()['prepare_threshold'])",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_PREPARED_STATEMENTS": "false",
        },
        capture_output=True,
        text=True,
        check=True,
    )

    assert answer.stdout.split() == ["False", "None"]
