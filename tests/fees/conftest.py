import pytest

from tests.factories import PatronFactory


@pytest.fixture
def patron(db):
    return PatronFactory()
