import datetime
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Patron
from fees import selectors
from fees.models import JournalEntry

pytestmark = pytest.mark.django_db


def seeded_patron(user_number):
    return Patron.objects.get(user_number=user_number)


@pytest.fixture
def seeded():
    call_command("seed_demo", stdout=StringIO())


def test_open_fees_only_patron(seeded):
    anna = seeded_patron("U-1001")

    assert selectors.balance_cents(patron=anna) == 3300
    assert len(selectors.open_fees(patron=anna)) == 4


def test_the_open_fees_patron_owes_two_owners(seeded):
    anna = seeded_patron("U-1001")

    owners = {fee.owner.code for fee in selectors.open_fees(patron=anna)}

    assert owners == {"default", "BR-NORD"}


def test_counter_payment_today_makes_the_full_selection_overbook(seeded):
    jonas = seeded_patron("U-1002")
    open_total = sum(fee.open_cents for fee in selectors.open_fees(patron=jonas))

    assert selectors.balance_cents(patron=jonas) == 800
    assert open_total == 2000
    assert JournalEntry.objects.filter(
        patron=jonas, kind="payment", business_date=timezone.localdate(), settled_in=None
    ).exists()


def test_credit_patron(seeded):
    assert selectors.patron_credit_cents(patron=seeded_patron("U-1003")) == 500


def test_accruing_fines_patron(seeded):
    fines = selectors.accruing_fines(patron=seeded_patron("U-1004"), on_date=timezone.localdate())

    assert [fine.fine_cents for fine in fines] == [1000, 600]


def test_nothing_owed_patron(seeded):
    lena = seeded_patron("U-1005")

    assert selectors.balance_cents(patron=lena) == 0
    assert not selectors.open_fees(patron=lena).exists()


def test_demo_staff_can_use_the_desk(seeded):
    from django.contrib.auth import get_user_model

    for name in ("desk1", "desk2"):
        assert get_user_model().objects.get(username=name).has_perm("accounts.use_desk")


def test_one_demo_staff_member_may_refund_to_the_card_and_the_other_not(seeded):
    User = get_user_model()

    assert User.objects.get(username="desk1").has_perm("accounts.refund_to_card")
    assert not User.objects.get(username="desk2").has_perm("accounts.refund_to_card")


def test_desk_demo_patron_has_orders_in_every_state(seeded):
    from payments.models import PaymentOrder

    orders = PaymentOrder.objects.filter(patron__user_number="U-1006")

    assert sorted(orders.values_list("status", flat=True)) == [
        "Cancelation", "CancelledByBib", "CreatedAtProvider", "Failed", "Failed", "Paid", "Paid",
        "Paid", "Underpaid",
    ]  # fmt: skip
    assert orders.filter(status="Paid", payment_entry__isnull=True).count() == 1
    assert orders.filter(events__kind="given_up").count() == 1
    assert JournalEntry.objects.filter(patron__user_number="U-1006", kind="reversal").exists()


def test_the_desk_demo_patron_has_a_refund_to_the_card(seeded):
    from payments.models import Refund, RefundStatus

    refund = Refund.objects.get(order__patron__user_number="U-1006")

    assert (refund.status, refund.amount_cents) == (RefundStatus.SUCCEEDED, 70)


def test_running_it_again_changes_nothing(seeded):
    before = (Patron.objects.count(), JournalEntry.objects.count())

    call_command("seed_demo", stdout=StringIO())

    assert (Patron.objects.count(), JournalEntry.objects.count()) == before


def test_each_demo_order_tells_one_story_in_its_dates(seeded):
    from payments.models import PaymentOrder

    for order in PaymentOrder.objects.all():
        events = list(order.events.order_by("at", "id"))
        assert abs(events[0].at - order.created_at) < datetime.timedelta(minutes=1)
        assert events[-1].at <= order.updated_at, order.reference
        if order.payment_entry:
            assert order.payment_entry.booked_at >= order.created_at, order.reference


def test_seeding_prints_the_logins_and_no_mail(django_capture_on_commit_callbacks):
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=out)

    assert mail.outbox == []  # the console backend would print it before the logins
    assert out.getvalue().lstrip().startswith("Demo logins")


def test_a_demo_desk_user_works_for_the_branch_only(seeded):
    from staffdesk.models import DeskScope

    scope = DeskScope.objects.get(user__username="desk3")

    assert [owner.code for owner in scope.owners.all()] == ["BR-NORD"]


def test_the_demo_branch_order_went_to_the_branch_merchant_with_its_service_fee(seeded):
    from payments.models import PaymentOrder, SimulatedCheckout

    order = PaymentOrder.objects.get(patron__user_number="U-1006", owner__code="BR-NORD")
    checkout = SimulatedCheckout.objects.get(order_reference=order.reference)
    service_fee = JournalEntry.objects.get(fee_type="service_fee", description=order.reference)

    assert (order.status, order.amount_cents, order.service_fee_cents) == ("Paid", 350, 50)
    assert (checkout.merchant, checkout.paid_cents) == ("BR-NORD", 350)
    assert (service_fee.owner.code, service_fee.amount_cents) == ("BR-NORD", 50)


def test_the_patron_owing_both_owners_pays_each_to_its_own_merchant(seeded, client):
    from payments.models import SimulatedCheckout

    anna = seeded_patron("U-1001")
    client.force_login(anna.user)
    groups = client.get(reverse("payments:account")).context["account"].groups
    merchants = {}
    for group in groups:
        fee_ids = [line.fee.pk for line in group.selectable_lines]
        response = client.post(reverse("payments:pay"), {"fee": fee_ids})
        transaction_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
        checkout = SimulatedCheckout.objects.get(transaction_id=transaction_id)
        merchants[group.owner.code] = (checkout.merchant, checkout.amount_cents)

    assert [group.owner.code for group in groups] == ["default", "BR-NORD"]
    assert merchants == {"default": ("", 2900), "BR-NORD": ("BR-NORD", 450)}
