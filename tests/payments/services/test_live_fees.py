"""Fees read live from the library system (payments.services.live_fees), against a fake
Koha that answers from its own accounts, checked against Koha's description."""

import pytest
from django.utils import timezone

from fees import selectors
from fees.models import Delivery, EntryKind, JournalEntry
from payments import services
from payments.models import EventSource, FeesRead, OrderStatus
from payments.services.live_fees import fees_read
from tests.factories import FeeFactory, FeeKindFactory, OwnerFactory
from tests.library_systems.fake_server import Reply

pytestmark = pytest.mark.django_db


def fees_of(patron):
    return JournalEntry.objects.filter(patron=patron, kind=EntryKind.FEE)


def test_a_fee_new_in_the_library_system_is_booked_with_its_id_type_and_owner(koha, linked_patron):
    FeeKindFactory(code="LOST", name_en="Lost item")
    OwnerFactory(code="FPL")
    line = koha.add_fee(42, 2500, debit_type="LOST", description="Atlas", library_id="FPL")

    read = fees_read(patron=linked_patron)

    (fee,) = fees_of(linked_patron)
    assert read.changed and read.ok
    assert (fee.external_id, fee.amount_cents, fee.fee_type, fee.owner.code) == (
        str(line), 2500, "LOST", "FPL",
    )  # fmt: skip
    assert (fee.external_type, fee.description) == ("LOST", "Atlas")


def test_a_fee_of_a_type_and_owner_unknown_here_is_an_other_fee_of_the_default_owner(
    koha, linked_patron
):
    koha.add_fee(42, 300, debit_type="NEWTYPE", library_id="NOWHERE")

    fees_read(patron=linked_patron)

    (fee,) = fees_of(linked_patron)
    assert (fee.fee_type, fee.owner.is_default, fee.external_type) == ("other", True, "NEWTYPE")


def test_reading_twice_books_nothing_the_second_time(koha, linked_patron):
    koha.add_fee(42, 300)
    fees_read(patron=linked_patron)

    read = fees_read(patron=linked_patron)

    assert not read.changed
    assert fees_of(linked_patron).count() == 1


@pytest.mark.parametrize(("now_cents", "balance"), [(800, 800), (200, 200), (0, 0)])
def test_an_amount_changed_in_the_library_system_is_corrected_here(
    koha, linked_patron, now_cents, balance
):
    line = koha.add_fee(42, 500)
    fees_read(patron=linked_patron)
    koha.set_outstanding(42, line, now_cents)

    read = fees_read(patron=linked_patron)

    assert read.changed
    assert selectors.balance_cents(patron=linked_patron) == balance


def test_a_fee_gone_from_the_library_system_is_written_off_here(koha, linked_patron):
    line = koha.add_fee(42, 500)
    fees_read(patron=linked_patron)
    del koha.patrons[42].lines[line]

    fees_read(patron=linked_patron)

    assert selectors.balance_cents(patron=linked_patron) == 0


def paid_online(patron):
    fee = fees_of(patron).get()
    order = services.order_create(patron=patron, fee_ids=[fee.pk])
    services.payment_order_transition(
        order=order, status=OrderStatus.PAID, source=EventSource.PROVIDER
    )
    order.refresh_from_db()
    return order


def test_money_paid_here_that_the_library_system_has_not_heard_of_changes_nothing(
    koha, linked_patron
):
    koha.add_fee(42, 500)
    fees_read(patron=linked_patron)
    paid_online(linked_patron)  # its delivery waits to be sent

    read = fees_read(patron=linked_patron)

    assert not read.changed
    assert selectors.balance_cents(patron=linked_patron) == 0


def test_money_paid_here_and_delivered_to_the_library_system_changes_nothing(koha, linked_patron):
    line = koha.add_fee(42, 500)
    fees_read(patron=linked_patron)
    order = paid_online(linked_patron)
    Delivery.objects.filter(entry=order.payment_entry).update(status=Delivery.Status.DELIVERED)
    koha.set_outstanding(42, line, 0)  # Koha booked the payment against the line

    read = fees_read(patron=linked_patron)

    assert not read.changed
    assert selectors.balance_cents(patron=linked_patron) == 0


def test_the_patrons_data_is_taken_from_the_library_system(koha, linked_patron):
    koha.patrons[42].email = "new@example.org"
    koha.patrons[42].surname = "Neumann"

    fees_read(patron=linked_patron)

    linked_patron.refresh_from_db()
    assert (linked_patron.email, linked_patron.last_name) == ("new@example.org", "Neumann")


def test_fees_read_within_the_max_age_are_not_read_again(koha, linked_patron):
    fees_read(patron=linked_patron)
    asked = len(koha.server.requests)

    read = fees_read(patron=linked_patron, max_age_seconds=60)

    assert len(koha.server.requests) == asked
    assert read.ok and not read.changed


def test_a_patron_the_library_system_is_not_linked_to_is_not_read(koha):
    fee = FeeFactory(amount_cents=500)

    read = fees_read(patron=fee.patron)

    assert not read.live
    assert koha.server.requests == []


@pytest.mark.parametrize(
    "answer",
    [
        Reply(500, {"error": "Internal server error"}),
        Reply(200, "not json at all"),
        Reply(200, {"balance": 5, "outstanding_debits": {"lines": [{"amount": 5}]}}),
    ],
    ids=["server error", "not JSON", "line without an id"],
)
def test_a_read_that_fails_changes_nothing_and_is_recorded(koha, linked_patron, answer):
    line = koha.add_fee(42, 500)
    fees_read(patron=linked_patron)
    koha.set_outstanding(42, line, 900)
    koha.server.route("GET", r"/api/v1/patrons/42/account", answer)

    read = fees_read(patron=linked_patron)

    assert not read.ok
    assert selectors.balance_cents(patron=linked_patron) == 500
    record = FeesRead.objects.get(patron=linked_patron)
    assert record.failing and record.failed_at <= timezone.now()
