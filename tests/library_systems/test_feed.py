"""The library system's feed of money movements read while bookings commit in any order,
and while other databases on the server keep transactions open (PostgreSQL)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.db import connection, transaction

from fees import services as ledger
from fees.models import Delivery
from payments.library_systems.feed import money_movements
from tests.factories import PatronFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def test_a_polling_reader_sees_a_booking_that_commits_after_a_later_one():
    early, late = PatronFactory(), PatronFactory()
    first_booked, second_committed = threading.Event(), threading.Event()

    def slow_booking():
        try:
            with transaction.atomic():
                ledger.payment_book(patron=early, amount_cents=100, method="cash")
                first_booked.set()
                second_committed.wait(10)  # commits after the later booking
        finally:
            connection.close()

    def quick_booking():
        try:
            first_booked.wait(10)
            ledger.payment_book(patron=late, amount_cents=200, method="cash")
        finally:
            connection.close()

    seen, cursor = [], ""
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(slow_booking)
        pool.submit(quick_booking).result()
        page = money_movements(cursor=cursor)  # the slow booking is still open
        seen += [m.patron_user_number for m in page.movements]
        cursor = page.next_cursor
        second_committed.set()
        slow.result()
    page = money_movements(cursor=cursor)
    seen += [m.patron_user_number for m in page.movements]

    early_id = Delivery.objects.get(entry__patron=early).pk
    late_id = Delivery.objects.get(entry__patron=late).pk
    assert early_id < late_id  # the row a plain "id > cursor" reader would skip
    assert sorted(seen) == sorted([early.user_number, late.user_number])


def test_a_long_transaction_in_another_database_does_not_hold_the_feed_back():
    other_database = connection.settings_dict.copy()
    url = (
        f"postgresql://{other_database['USER']}@{other_database['HOST']}:"
        f"{other_database['PORT'] or 5432}/postgres"
    )
    with psycopg.connect(url) as elsewhere:
        elsewhere.execute("SELECT pg_current_xact_id()")  # holds an xid, stays open
        patron = PatronFactory()
        ledger.payment_book(patron=patron, amount_cents=100, method="cash")

        page = money_movements()

        elsewhere.rollback()
    assert [m.patron_user_number for m in page.movements] == [patron.user_number]
