"""The desk's actions: the table, the one path each goes through, and that path under races
with the provider's Paid and with itself, on real threads."""

import uuid

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse

from fees import services as ledger
from fees.models import JournalEntry
from payments import services
from payments.models import EventSource, OrderStatus
from staffdesk.actions import DESK_ACTIONS, ORDER_ACTIONS, DeskAction, perform
from staffdesk.forms import CounterBookingForm, DeliveryActionForm
from staffdesk.models import StaffAction
from tests.factories import (
    DeskStaffFactory,
    FeeFactory,
    PatronFactory,
    UserFactory,
    WaitingRefundFactory,
)
from tests.staffdesk.conftest import make_order, refused_delivery, underpaid
from tests.threads import run_together

pytestmark = pytest.mark.django_db

Kind = StaffAction.Kind


# --- the table ----------------------------------------------------------------------------


def test_every_kind_of_audit_row_has_its_one_action():
    assert sorted(DESK_ACTIONS) == sorted(Kind.values)
    assert all(action.kind == kind for kind, action in DESK_ACTIONS.items())


@pytest.mark.parametrize("action", DESK_ACTIONS.values(), ids=lambda action: action.kind)
def test_every_action_names_a_permission_that_exists(action):
    app_label, codename = action.permission.split(".")

    assert Permission.objects.filter(content_type__app_label=app_label, codename=codename)


def test_the_order_page_offers_its_actions_in_the_tables_order():
    assert list(ORDER_ACTIONS) == ["cancel", "complete", "book-late", "close-money", "requery",
                                   "resolve"]  # fmt: skip
    assert all(action.availability for action in ORDER_ACTIONS.values())


# --- the one path ---------------------------------------------------------------------------


def test_an_action_writes_one_audit_row_with_who_what_and_why(staff):
    order = make_order()

    row = perform(Kind.CANCEL_ORDER, order, staff_user=staff, reason="Asked by phone")

    assert StaffAction.objects.get() == row
    assert (row.kind, row.staff_user, row.order, row.patron_id, row.reason) == (
        Kind.CANCEL_ORDER, staff, order, order.patron_id, "Asked by phone",
    )  # fmt: skip
    assert (row.status_before, row.status_after) == ("CreatedAtProvider", "CancelledByBib")
    assert not row.is_repeat


def test_a_refused_action_writes_no_audit_row(staff):
    order = make_order()
    perform(Kind.CANCEL_ORDER, order, staff_user=staff, reason="first")

    with pytest.raises(ValidationError):
        perform(Kind.CANCEL_ORDER, order, staff_user=staff, reason="again")

    assert StaffAction.objects.count() == 1


def test_a_form_sent_again_gives_back_the_first_row_marked_as_a_repeat(staff, patron):
    token = uuid.uuid4()
    book = dict(staff_user=staff, submission=token, note="Goodwill")

    first = perform(Kind.CREDIT_NOTE, patron, amount_cents=500, **book)
    again = perform(Kind.CREDIT_NOTE, patron, amount_cents=700, **book)

    assert again.pk == first.pk and again.is_repeat
    assert JournalEntry.objects.filter(patron=patron).count() == 1


def test_an_action_is_named_by_its_kind_or_given_itself(staff, patron):
    action = DESK_ACTIONS[Kind.CREDIT_NOTE]

    perform(action, patron, staff_user=staff, amount_cents=100, note="one")
    perform(Kind.CREDIT_NOTE, patron, staff_user=staff, amount_cents=100, note="two")

    assert StaffAction.objects.filter(kind=Kind.CREDIT_NOTE).count() == 2


# --- every action is reachable by URL, and refused without its permission --------------------


@pytest.fixture
def world(staff, paid_order, settings):
    """One of each thing a desk action works on, in a state that lets the action be done
    (with a library system to send deliveries to)."""
    settings.LIBRARY_SYSTEM_TARGET = "webhook"
    ledger.credit_note_book(patron=paid_order.patron, amount_cents=400, note="Goodwill")
    held = make_order()
    services.order_cancel(order=held, staff_user=staff, reason="asked")
    provider_paid(held)()
    return {
        "order": make_order(days_old=10),
        "order for book-late": held,
        "order for close-money": held,
        "order for resolve": underpaid(),
        "paid": paid_order,
        "fee": FeeFactory(patron=paid_order.patron, amount_cents=300),
        "delivery": refused_delivery(PatronFactory()),
        "refund": WaitingRefundFactory(order=paid_order),
    }


def request_for(action: DeskAction, world) -> tuple[str, dict]:
    """The URL and form that ask for the action: a new kind of action is added here."""
    given = {"reason": "x", "note": "x", "submission": str(uuid.uuid4())}
    if action.slug:
        order = world.get(f"order for {action.slug}", world["order"])
        url = reverse("staffdesk:order_action", args=[order.reference, action.slug])
        return url, given | {"resolution": "rest_open"}
    if action.form is CounterBookingForm:
        url = reverse("staffdesk:patron", args=[world["paid"].patron.user_number])
        return url, given | {"kind": action.kind, "amount": "1.00", "method": "cash",
                             "fee": world["fee"].pk}  # fmt: skip
    if action.form is DeliveryActionForm:
        return reverse("staffdesk:deliveries"), given | {
            "delivery": world["delivery"].pk, "action": action.kind,
        }  # fmt: skip
    if action.kind == Kind.REFUND_TO_CARD:
        url = reverse("staffdesk:order_refund", args=[world["paid"].reference])
        return url, given | {"source": "payment", "amount": "1.00"}
    if action.kind == Kind.ASK_REFUND_AGAIN:
        refund = world["refund"]
        return reverse(
            "staffdesk:refund_ask_again", args=[refund.order.reference, refund.reference]
        ), {}
    raise AssertionError(f"no URL known for {action.kind}: add it to request_for")


def staff_with(*permissions):
    user = UserFactory(is_staff=True)
    codenames = [permission.split(".")[1] for permission in permissions]
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames)
    )
    return user


EVERY_PERMISSION = {action.permission for action in DESK_ACTIONS.values()} | {"accounts.use_desk"}


@pytest.mark.parametrize("action", DESK_ACTIONS.values(), ids=lambda action: action.kind)
def test_every_action_is_reachable_with_its_permission(client, world, action):
    client.force_login(staff_with(*EVERY_PERMISSION))
    url, given = request_for(action, world)

    client.post(url, given)

    assert StaffAction.objects.filter(kind=action.kind).count() == 1


@pytest.mark.parametrize("action", DESK_ACTIONS.values(), ids=lambda action: action.kind)
def test_every_action_is_refused_without_its_permission(client, world, action):
    client.force_login(staff_with(*EVERY_PERMISSION - {action.permission}))
    url, given = request_for(action, world)

    assert client.post(url, given).status_code == 403
    assert not StaffAction.objects.exists()


# --- the path under races, on real threads ----------------------------------------------


def race(*works):
    """Each work's result, or the refusal it met."""
    return run_together(*works, catch=ValidationError)


def provider_paid(order):
    return lambda: services.payment_order_transition(
        order=order, status="Paid", source=EventSource.PROVIDER, provider_event_id=f"evt_{order.pk}"
    )


def staff_does(kind, order, staff):
    return lambda: perform(kind, order, staff_user=staff, reason="race")


@pytest.mark.django_db(transaction=True)
def test_complete_racing_a_provider_paid_books_exactly_once():
    staff = DeskStaffFactory()
    for _ in range(10):
        order = make_order(days_old=10)

        race(staff_does(StaffAction.Kind.COMPLETE_ORDER, order, staff), provider_paid(order))

        order.refresh_from_db()
        assert order.status == OrderStatus.PAID
        assert JournalEntry.objects.filter(reference=order.reference).count() == 1


@pytest.mark.django_db(transaction=True)
def test_cancel_racing_a_provider_paid_ends_as_the_spec_says():
    staff = DeskStaffFactory()
    for _ in range(10):
        order = make_order()

        cancel, _ = race(
            staff_does(StaffAction.Kind.CANCEL_ORDER, order, staff), provider_paid(order)
        )

        order.refresh_from_db()
        booked = JournalEntry.objects.filter(reference=order.reference).count()
        assert order.status == OrderStatus.PAID
        if isinstance(cancel, ValidationError):  # Paid came first: an ordinary payment
            assert booked == 1 and not order.money_reports.awaiting_staff().exists()
        else:  # the cancel came first: recorded, not booked, flagged for manual booking
            assert booked == 0 and order.money_reports.awaiting_staff().exists()
            assert list(order.events.values_list("status", flat=True))[-2:] == [
                "CancelledByBib", "Paid",
            ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_counter_booking_submitted_twice_at_once_books_once():
    staff, patron, token = DeskStaffFactory(), PatronFactory(), uuid.uuid4()

    def book():
        return perform(
            StaffAction.Kind.CREDIT_NOTE, patron, amount_cents=500,
            staff_user=staff, note="Goodwill", submission=token,
        )  # fmt: skip

    first, second = race(book, book)

    assert first.pk == second.pk
    assert JournalEntry.objects.filter(patron=patron).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_cancel_submitted_twice_at_once_acts_once():
    staff, order, token = DeskStaffFactory(), make_order(), uuid.uuid4()

    def cancel():
        return perform(
            StaffAction.Kind.CANCEL_ORDER, order, staff_user=staff,
            reason="twice", submission=token,
        )  # fmt: skip

    first, second = race(cancel, cancel)

    assert first.pk == second.pk
    assert order.events.filter(status="CancelledByBib").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_staff_booking_the_same_held_money_at_once_book_it_once():
    first, second = DeskStaffFactory(), DeskStaffFactory()
    for _ in range(5):
        order = make_order()
        services.order_cancel(order=order, staff_user=first, reason="asked")
        provider_paid(order)()
        held = order.money_reports.get()

        def book(staff, order=order, held=held):
            return lambda: services.order_book_late_payment(
                order=order, staff_user=staff, money_id=held.pk
            )

        race(book(first), book(second))

        held.refresh_from_db()
        assert held.entry is not None
        assert JournalEntry.objects.filter(reference=order.reference).count() == 1
