"""Reads of the library system racing each other and a provider's webhook, on PostgreSQL
with real threads: each read applies under the patron's lock, against the ledger as it is
then, so no fee is booked twice and money being paid is never written off."""

import pytest

from fees import selectors
from fees.models import EntryKind, JournalEntry
from payments import services
from payments.models import EventSource, OrderStatus
from payments.services.live_fees import fees_read
from payments.services.pulling import pull_fees
from tests.factories import PatronFactory
from tests.library_systems.fake_server import Reply
from tests.threads import run_in_threads, run_together

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def entries(patron, kind):
    return JournalEntry.objects.filter(patron=patron, kind=kind)


def test_reads_at_once_book_a_new_fee_once(koha, linked_patron):
    koha.add_fee(42, 500)

    run_in_threads(6, lambda _index: fees_read(patron=linked_patron))

    assert entries(linked_patron, EntryKind.FEE).count() == 1
    assert selectors.balance_cents(patron=linked_patron) == 500


def test_reads_at_once_correct_a_raised_fee_once(koha, linked_patron):
    line = koha.add_fee(42, 500)
    fees_read(patron=linked_patron)
    koha.set_outstanding(42, line, 800)

    run_in_threads(6, lambda _index: fees_read(patron=linked_patron))

    assert selectors.balance_cents(patron=linked_patron) == 800


def test_a_read_racing_the_paid_webhook_never_writes_off_the_fee_being_paid(koha, linked_patron):
    koha.add_fee(42, 500)
    fees_read(patron=linked_patron)
    fee = entries(linked_patron, EntryKind.FEE).get()
    order = services.order_create(patron=linked_patron, fee_ids=[fee.pk])
    # The read asks Koha before the money arrives and applies what it found after.
    koha.server.route(
        "GET", r"/api/v1/patrons/42/account", Reply(200, koha.patrons[42].as_account(), delay=0.3)
    )

    run_together(
        lambda: fees_read(patron=linked_patron),
        lambda: services.payment_order_transition(
            order=order, status=OrderStatus.PAID, source=EventSource.PROVIDER
        ),
    )

    assert not entries(linked_patron, EntryKind.REDUCTION).exists()
    assert selectors.balance_cents(patron=linked_patron) == 0


def test_pull_fees_racing_page_views_books_each_fee_once(koha):
    patrons = []
    for number in range(4):
        patron = PatronFactory(external_id=str(100 + number))
        koha.add_patron(100 + number, patron.card_number, patron.last_name,
                        firstname=patron.first_name, email=patron.email)  # fmt: skip
        koha.add_fee(100 + number, 300 + number)
        patrons.append(patron)

    run_together(
        lambda: pull_fees(selection="all"),
        *(lambda patron=patron: fees_read(patron=patron) for patron in patrons),
    )

    for number, patron in enumerate(patrons):
        assert entries(patron, EntryKind.FEE).count() == 1
        assert selectors.balance_cents(patron=patron) == 300 + number
