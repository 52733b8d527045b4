"""Creating orders (payments.services.orders): an owner's service fee is charged on top of
the fees, and booked as a fee of its own once the money arrives."""

import pytest

from fees import selectors
from fees.models import EntryKind, FeeType, JournalEntry
from payments import services
from payments.models import EventSource, OrderStatus
from tests.factories import FeeFactory, OwnerFactory, PatronFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def north():
    return OwnerFactory(code="NORTH", service_fee_cents=50)


@pytest.fixture
def north_order(north):
    fee = FeeFactory(amount_cents=500, owner=north)
    return services.order_create(patron=fee.patron, fee_ids=[fee.pk])


def service_fees():
    return JournalEntry.objects.filter(kind=EntryKind.FEE, fee_type=FeeType.SERVICE_FEE)


def test_an_owners_service_fee_is_added_to_its_orders(north_order):
    assert (north_order.amount_cents, north_order.service_fee_cents) == (550, 50)
    assert north_order.fees_cents == 500


def test_an_owner_without_a_service_fee_charges_the_fees_alone(north):
    fee = FeeFactory(amount_cents=500)

    order = services.order_create(patron=fee.patron, fee_ids=[fee.pk])

    assert (order.amount_cents, order.service_fee_cents) == (500, 0)


def test_the_service_fee_does_not_count_against_the_balance(north):
    patron = PatronFactory()
    fee = FeeFactory(patron=patron, amount_cents=500, owner=north)

    order = services.order_create(patron=patron, fee_ids=[fee.pk])

    assert selectors.balance_cents(patron=patron) == 500
    assert order.amount_cents == 550


def test_an_open_order_reserves_its_fees_not_its_service_fee(north_order):
    from payments.selectors import reserved_cents

    assert reserved_cents(patron=north_order.patron) == 500


def test_a_paid_order_books_its_service_fee_as_a_fee_its_payment_pays(north_order, north):
    services.payment_order_transition(
        order=north_order, status=OrderStatus.PAID, source=EventSource.PROVIDER
    )

    north_order.refresh_from_db()
    (service_fee,) = service_fees()
    assert (service_fee.amount_cents, service_fee.owner, service_fee.description) == (
        50, north, north_order.reference,
    )  # fmt: skip
    assert north_order.payment_entry.amount_cents == -550
    assert set(north_order.payment_entry.for_fees.all()) == {*north_order.fees.all(), service_fee}
    assert selectors.balance_cents(patron=north_order.patron) == 0


def test_the_same_money_reported_twice_books_one_service_fee(north_order):
    for _ in range(2):
        services.payment_order_transition(
            order=north_order, status=OrderStatus.PAID, source=EventSource.PROVIDER
        )

    assert service_fees().count() == 1


def test_an_underpaid_order_books_no_service_fee(north_order):
    services.payment_order_transition(
        order=north_order, status=OrderStatus.PAID, source=EventSource.PROVIDER, amount_cents=300
    )

    north_order.refresh_from_db()
    assert north_order.status == OrderStatus.UNDERPAID
    assert not service_fees().exists()


def test_a_failed_order_books_no_service_fee(north_order):
    services.payment_order_transition(
        order=north_order, status=OrderStatus.FAILED, source=EventSource.PROVIDER
    )

    assert not service_fees().exists()
