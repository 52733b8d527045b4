import pytest
from django.db import connection

from tests.factories import DeskStaffFactory


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _library_settings(settings):
    settings.LIBRARY_CURRENCY = "EUR"
    settings.TIME_ZONE = "Europe/Berlin"
    settings.LANGUAGE_CODE = "en"
    # The real hasher costs ~0.3 s per password; tests don't test its strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(db):
    return DeskStaffFactory(username="desk7")


@pytest.fixture
def desk_client(client, staff):
    client.force_login(staff)
    return client
