"""Payments reported by other systems (payments.api.payments): for an order or for a
patron; a caller's transaction id names one payment, whichever endpoint carried it."""

import pytest

from fees.models import EntryKind, JournalEntry
from payments import services
from payments.models import EventSource, MoneyReport, OrderStatus
from tests.api.helpers import fee_body, journal, payment_body
from tests.factories import FeeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(patron):
    fee = FeeFactory(patron=patron, amount_cents=500)
    return services.order_create(patron=patron, fee_ids=[fee.pk])


def test_payment_for_an_order_goes_the_way_a_providers_paid_goes(call, key, order):
    response = call("post", "/payments", payment_body(order_reference=order.reference), key)

    assert response.status_code == 201
    assert response.json()["outcome"] == "booked"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    event = order.events.last()
    assert (event.status, event.source, event.payment_method) == ("Paid", "api", "campus card")
    assert order.payment_entry.pk == response.json()["payment_entry_id"]
    assert JournalEntry.objects.filter(kind="payment").count() == 1


def test_payment_repeated_answers_as_before_and_books_once(call, key, order):
    first = call("post", "/payments", payment_body(order_reference=order.reference), key)

    second = call("post", "/payments", payment_body(order_reference=order.reference), key)

    assert (second.status_code, second.json()) == (201, first.json())
    assert JournalEntry.objects.filter(kind="payment").count() == 1


def test_payment_repeated_with_another_amount_is_a_conflict(call, key, order):
    call("post", "/payments", payment_body(order_reference=order.reference), key)

    response = call(
        "post", "/payments", payment_body(order_reference=order.reference, amount_cents=1), key
    )

    assert response.status_code == 409


def test_second_payment_for_a_paid_order_books_nothing(call, key, order):
    call("post", "/payments", payment_body(order_reference=order.reference), key)

    response = call(
        "post",
        "/payments",
        payment_body(transaction_id="CAMPUS-43", order_reference=order.reference),
        key,
    )

    assert response.status_code == 200
    assert response.json()["outcome"] == "already_paid"
    assert JournalEntry.objects.filter(kind="payment").count() == 1


def test_payment_for_an_order_cancelled_by_the_library_is_flagged_not_booked(call, key, order):
    services.payment_order_transition(
        order=order, status="CancelledByBib", source=EventSource.STAFF
    )

    response = call("post", "/payments", payment_body(order_reference=order.reference), key)

    assert response.json()["outcome"] == "recorded_not_booked"
    order.refresh_from_db()
    assert order.money_reports.awaiting_staff().exists()
    assert not JournalEntry.objects.filter(kind="payment").exists()


def test_payment_for_a_patron_without_an_order(call, key, patron):
    response = call("post", "/payments", payment_body(user_number="U-77"), key)

    assert response.status_code == 201
    entry = JournalEntry.objects.get(pk=response.json()["payment_entry_id"])
    assert (entry.patron, entry.amount_cents, entry.reference) == (patron, -500, "CAMPUS-42")


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # neither an order nor a patron
        {"order_reference": "EP-AAAA-AAAA", "user_number": "U-77"},  # both
    ],
)
def test_payment_must_name_an_order_or_a_patron(call, key, patron, overrides):
    response = call("post", "/payments", payment_body(**overrides), key)

    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "order_reference"
    assert journal() == []


def test_payment_for_an_unknown_order_is_not_found(call, key, patron):
    response = call("post", "/payments", payment_body(order_reference="EP-ZZZZ-ZZZZ"), key)

    assert response.status_code == 404
    assert journal() == []


def test_payment_in_another_currency_is_refused(call, key, order):
    response = call(
        "post", "/payments", payment_body(order_reference=order.reference, currency="CHF"), key
    )

    assert response.status_code == 422
    order.refresh_from_db()
    assert order.status == OrderStatus.CREATED


# --- one transaction id, one payment --------------------------------------------------


def payments():
    return JournalEntry.objects.filter(kind=EntryKind.PAYMENT)


def fee_with_payment(transaction_id="T-77", amount_cents=250):
    payment = {"transaction_id": transaction_id, "amount_cents": amount_cents, "method": "cash"}
    return fee_body(payment=payment)


def test_a_payment_posted_with_its_fee_and_reported_again_is_booked_once(call, key, patron):
    first = call("post", "/fees", fee_with_payment(), key)

    again = call(
        "post", "/payments", payment_body(transaction_id="T-77", user_number="U-77",
                                          amount_cents=250), key,
    )  # fmt: skip

    assert first.status_code == 201
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert again.json()["payment_entry_id"] == first.json()["payment_entry_id"]
    assert payments().count() == 1


def test_a_payment_reported_for_an_order_then_posted_with_a_fee_is_booked_once(call, key, patron):
    fee = FeeFactory(patron=patron, amount_cents=250)
    order = services.order_create(patron=patron, fee_ids=[fee.pk])
    call("post", "/payments",
         payment_body(transaction_id="T-77", order_reference=order.reference, amount_cents=250),
         key)  # fmt: skip

    response = call("post", "/fees", fee_with_payment(), key)

    assert response.status_code == 201
    assert payments().count() == 1
    assert MoneyReport.objects.get().order == order


def test_a_transaction_id_used_for_another_payment_is_a_conflict_and_changes_nothing(
    call, key, patron
):
    call("post", "/fees", fee_with_payment(), key)
    journal_before = list(JournalEntry.objects.values_list("pk", flat=True))

    response = call(
        "post", "/payments", payment_body(transaction_id="T-77", user_number="U-77",
                                          amount_cents=999), key,
    )  # fmt: skip

    assert response.status_code == 409
    assert list(JournalEntry.objects.values_list("pk", flat=True)) == journal_before


def test_each_api_client_has_its_own_transaction_ids(call, make_key, patron):
    for name in ("kiosk", "campus card"):
        call(
            "post", "/payments",
            payment_body(transaction_id="T-77", user_number="U-77"), make_key(name=name),
        )  # fmt: skip

    assert payments().count() == 2
