"""Sessions read from a shared cache equal their database rows and end everywhere at once."""

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client

from tests.factories import PatronFactory
from tests.shared_cache import REDIS_URL, needs_redis

CACHED_DB = "django.contrib.sessions.backends.cached_db"


def test_sessions_are_read_from_the_database_without_a_shared_cache():
    # The default cache belongs to one process: a session ended in another would live on.
    assert settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"


@pytest.fixture
def redis_sessions(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "session-test",
        }
    }
    settings.SESSION_ENGINE = CACHED_DB
    yield caches["default"]
    caches["default"].clear()


def _patron_logged_in() -> tuple[Client, str]:
    client = Client()
    client.force_login(PatronFactory().user)
    return client, client.cookies[settings.SESSION_COOKIE_NAME].value


def _cached(cache, session_key):
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX

    return cache.get(KEY_PREFIX + session_key)


@needs_redis
@pytest.mark.django_db
def test_a_cached_session_equals_its_database_row(redis_sessions):
    client, key = _patron_logged_in()

    assert _cached(redis_sessions, key) == Session.objects.get(pk=key).get_decoded()
    assert client.get("/account/").status_code == 200


@needs_redis
@pytest.mark.django_db
def test_logging_out_removes_the_session_from_cache_and_database(redis_sessions):
    client, key = _patron_logged_in()

    client.post("/logout/")

    assert _cached(redis_sessions, key) is None
    assert not Session.objects.filter(pk=key).exists()
