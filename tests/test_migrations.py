"""Every model change ships with its migration: a choice or field added without one
would differ between the code and the database it runs on."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit:
        pytest.fail(f"A model change has no migration:\n{out.getvalue()}")
