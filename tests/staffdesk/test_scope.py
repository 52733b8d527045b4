"""Desk users given some owners (staffdesk.scope): every desk URL that names another
owner's order or refund is a 404 and changes nothing, and the lists, the patron page, the
start page and the exports leave the other owner's orders, fees and money out."""

import re
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from fees.models import Delivery, Owner
from fees.settlement import settlement_run
from payments import services
from payments.models import PaymentOrder, Refund
from staffdesk import urls
from staffdesk.actions import ORDER_ACTIONS
from staffdesk.models import DeskScope, StaffAction
from tests.factories import DeskStaffFactory, FeeFactory, OwnerFactory, WaitingRefundFactory
from tests.staffdesk.conftest import make_order, pay_simulated

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
# Every desk URL that names an object, and for the order actions each action: built from
# the desk's own URL list, so that a new page is tried here without being added. A patron
# and a business day are every owner's: their pages show each desk its owners' part.
SHARED = {"user_number", "business_date"}
OBJECT_ROUTES = [
    (pattern.name, action)
    for pattern in urls.urlpatterns
    if pattern.pattern.converters and not SHARED & set(pattern.pattern.converters)
    for action in (ORDER_ACTIONS if "action" in pattern.pattern.converters else [None])
]


@pytest.fixture
def main_order(db):
    """An order of the default owner's, paid, with a refund waiting: the other desk's."""
    order = pay_simulated(make_order(amount_cents=800))
    WaitingRefundFactory(order=order, amount_cents=100, reference="RF-TEST-0001")
    return order


@pytest.fixture
def north_desk(client):
    """A desk user of the North branch only, with every desk permission."""
    user = DeskStaffFactory()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="accounts"))
    DeskScope.objects.create(user=user).owners.add(OwnerFactory(code="NORTH"))
    client.force_login(user)
    return client


def url_of(name, action, order):
    values = {
        "reference": order.reference,
        "refund_reference": "RF-TEST-0001",
        "action": action,
        "business_date": TODAY,
    }
    converters = next(p for p in urls.urlpatterns if p.name == name).pattern.converters
    return reverse(f"staffdesk:{name}", kwargs={key: values[key] for key in converters})


def settlement_file(client, **params):
    response = client.get(reverse("staffdesk:settlement_export", args=[TODAY]), params)
    if response.status_code != 200:
        return response.status_code, []
    lines = b"".join(response.streaming_content).decode().splitlines()
    return response.status_code, [line.split(",") for line in lines]


def test_a_branch_desks_settlement_file_holds_the_branchs_entries_only(north_desk, main_order):
    FeeFactory(patron=main_order.patron, amount_cents=400, owner=OwnerFactory(code="NORTH"))
    settlement_run(business_date=TODAY)

    status, rows = settlement_file(north_desk)

    entries = [row for row in rows if row[0] == "entry"]
    assert status == 200
    assert [(row[6], row[-1]) for row in entries] == [("400", "NORTH")]


def test_a_branch_desk_is_refused_another_owners_settlement_file(north_desk, main_order):
    settlement_run(business_date=TODAY)

    assert settlement_file(north_desk, owner="default")[0] == 404


def test_staff_of_every_owner_may_take_one_owners_settlement_file(desk_client, main_order):
    FeeFactory(patron=main_order.patron, amount_cents=400, owner=OwnerFactory(code="NORTH"))
    settlement_run(business_date=TODAY)

    _status, everyone = settlement_file(desk_client)
    _status, north = settlement_file(desk_client, owner="NORTH")

    assert {row[-1] for row in everyone if row[0] == "entry"} == {"default", "NORTH"}
    assert {row[-1] for row in north if row[0] == "entry"} == {"NORTH"}


def test_the_desk_has_urls_that_name_objects():
    assert {"order", "order_refund", "order_action", "refund_ask_again"} <= {
        name for name, _action in OBJECT_ROUTES
    }


@pytest.mark.parametrize(("name", "action"), OBJECT_ROUTES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_owners_object_is_not_found_and_nothing_changes(
    north_desk, main_order, name, action, method
):
    settlement_run(business_date=TODAY)
    before = (main_order.status, Refund.objects.get().status, StaffAction.objects.count())

    response = getattr(north_desk, method)(
        url_of(name, action, main_order), {"reason": "mine", "amount": "1.00", "source": "payment"}
    )

    main_order.refresh_from_db()
    # 405: a method the page never takes, whatever the object; it tells nothing of it.
    assert response.status_code in (404, 405)
    assert (main_order.status, Refund.objects.get().status, StaffAction.objects.count()) == before


def test_the_orders_list_and_its_export_leave_another_owners_orders_out(north_desk, main_order):
    branch_fee = FeeFactory(
        patron=main_order.patron, amount_cents=400, owner=OwnerFactory(code="NORTH")
    )
    mine = services.order_create(patron=main_order.patron, fee_ids=[branch_fee.pk])

    listed = north_desk.get(reverse("staffdesk:orders")).content.decode()
    response = north_desk.get(reverse("staffdesk:orders_export"))
    exported = b"".join(response.streaming_content).decode()

    assert mine.reference in listed and mine.reference in exported
    assert main_order.reference not in listed and main_order.reference not in exported


def test_the_patron_page_shows_only_the_owners_fees_and_orders(north_desk, main_order):
    FeeFactory(
        patron=main_order.patron, description="Branch fine", owner=OwnerFactory(code="NORTH")
    )
    FeeFactory(patron=main_order.patron, description="Main library fine")

    page = north_desk.get(
        reverse("staffdesk:patron", args=[main_order.patron.user_number])
    ).content.decode()

    assert "Branch fine" in page
    assert "Main library fine" not in page
    assert main_order.reference not in page


def test_a_counter_payment_of_a_branch_desk_is_the_branchs_money(north_desk, main_order):
    patron = main_order.patron

    north_desk.post(
        reverse("staffdesk:patron", args=[patron.user_number]),
        {
            "kind": StaffAction.Kind.COUNTER_PAYMENT,
            "amount": "2.00",
            "method": "cash",
            "note": "at the branch",
            "submission": str(uuid.uuid4()),
        },
    )

    payment = patron.journal_entries.filter(kind="payment", method="cash").get()
    assert payment.owner.code == "NORTH"


def test_the_deliveries_page_leaves_another_owners_money_out(north_desk, main_order):
    assert Delivery.objects.filter(entry=main_order.payment_entry).exists()

    page = north_desk.get(reverse("staffdesk:deliveries"), {"status": "pending"}).content.decode()

    assert main_order.reference not in page


def test_the_start_page_counts_only_the_owners_orders(north_desk, main_order):
    PaymentOrder.objects.filter(pk=main_order.pk).update(status="Underpaid")

    page = north_desk.get(reverse("staffdesk:home"))

    assert page.context["figures"].attention["underpaid"] == 0
    assert page.context["figures"].online_today_count == 0


@pytest.mark.parametrize("name", ["provider_reports"])
def test_pages_of_every_owners_money_are_not_found(north_desk, name):
    assert north_desk.get(reverse(f"staffdesk:{name}")).status_code == 404


def test_the_accounting_export_offers_only_the_users_owners(north_desk, main_order):
    refused = north_desk.get(
        reverse("staffdesk:accounting"), {"date": TODAY.isoformat(), "format": "csv"}
    )
    mine = north_desk.get(
        reverse("staffdesk:accounting"),
        {"date": TODAY.isoformat(), "format": "csv", "owner": "NORTH"},
    )
    other = north_desk.get(
        reverse("staffdesk:accounting"),
        {"date": TODAY.isoformat(), "format": "csv", "owner": "default"},
    )

    assert (refused.status_code, mine.status_code, other.status_code) == (400, 200, 400)
    assert main_order.reference not in b"".join(mine.streaming_content).decode()


def test_a_desk_user_of_all_owners_sees_every_order(desk_client, main_order):
    page = desk_client.get(reverse("staffdesk:order", args=[main_order.reference]))

    assert page.status_code == 200


def test_a_branch_desk_sees_the_patrons_balance_with_the_branch(north_desk, main_order):
    patron = main_order.patron
    FeeFactory(patron=patron, amount_cents=400, owner=OwnerFactory(code="NORTH"))
    FeeFactory(patron=patron, amount_cents=900)

    page = north_desk.get(reverse("staffdesk:patron", args=[patron.user_number])).content.decode()

    assert re.search(
        r'Balance with Branch NORTH</span><span class="value" id="balance">4\.00', page
    )


def counter_payment(client, patron, **fields):
    return client.post(
        reverse("staffdesk:patron", args=[patron.user_number]),
        {
            "kind": StaffAction.Kind.COUNTER_PAYMENT, "amount": "2.00", "method": "cash",
            "note": "at the counter", "submission": str(uuid.uuid4()), **fields,
        },
    )  # fmt: skip


def test_staff_of_several_owners_say_whose_a_counter_payment_is(desk_client, main_order):
    north = OwnerFactory(code="NORTH")

    counter_payment(desk_client, main_order.patron, owner=north.pk)

    payment = main_order.patron.journal_entries.filter(kind="payment", method="cash").get()
    assert payment.owner == north


def test_a_counter_payment_for_an_owner_the_desk_does_not_book_for_is_refused(client, main_order):
    user = DeskStaffFactory()
    DeskScope.objects.create(user=user).owners.add(OwnerFactory(), OwnerFactory())
    client.force_login(user)

    response = counter_payment(client, main_order.patron, owner=Owner.objects.default().pk)

    assert response.status_code == 400
    assert not main_order.patron.journal_entries.filter(method="cash").exists()


def test_a_counter_payment_cannot_pay_another_owners_fees(desk_client, main_order):
    north = OwnerFactory(code="NORTH")
    branch_fee = FeeFactory(patron=main_order.patron, amount_cents=400, owner=north)

    response = counter_payment(
        desk_client, main_order.patron, owner=Owner.objects.default().pk, for_fees=[branch_fee.pk]
    )

    assert response.status_code == 400
    assert "belong to another library" in response.content.decode()
    assert not main_order.patron.journal_entries.filter(method="cash").exists()
