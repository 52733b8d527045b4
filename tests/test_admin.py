import pytest
from django.urls import reverse

from tests.factories import FeeFactory, LoanFactory, PatronFactory, WaitingRefundFactory
from tests.staffdesk.conftest import make_order, pay_simulated

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_with_data(admin_client):
    patron = PatronFactory(user_number="U-777", card_number="5550001")
    FeeFactory(patron=patron, description="Lost atlas")
    LoanFactory(patron=patron, item="Faust I")
    return admin_client


@pytest.mark.parametrize(
    ("model", "expected"),
    [("accounts/patron", "U-777"), ("fees/journalentry", "Lost atlas"), ("fees/loan", "Faust I")],
)
@pytest.mark.parametrize("query", ["U-777", "5550001"])
def test_admin_finds_rows_by_user_and_card_number(admin_client_with_data, model, expected, query):
    response = admin_client_with_data.get(f"/admin/{model}/", {"q": query})

    assert response.status_code == 200
    assert expected in response.content.decode()


@pytest.mark.parametrize(
    "model",
    [
        "fees_settlement",
        "fees_allocation",
        "payments_paymentorder",
        "payments_paymentevent",
        "payments_simulatedcheckout",
        "payments_moneyreport",
        "payments_unmatchedproviderreport",
        "payments_refund",
        "fees_delivery",
        "fees_paymentshare",
        "staffdesk_staffaction",
    ],
)
def test_admin_lists_each_model(admin_client, model):
    assert admin_client.get(reverse(f"admin:{model}_changelist")).status_code == 200


def test_admin_finds_payment_orders_by_reference_card_and_user_number(admin_client):
    from payments import services

    patron = PatronFactory(user_number="U-888", card_number="5550888")
    fee = FeeFactory(patron=patron, amount_cents=500)
    order = services.order_create(patron=patron, fee_ids=[fee.pk])
    url = reverse("admin:payments_paymentorder_changelist")

    for query in (order.reference, "U-888", "5550888"):
        assert order.reference in admin_client.get(url, {"q": query}).content.decode()
    detail = admin_client.get(reverse("admin:payments_paymentorder_change", args=[order.pk]))
    assert detail.status_code == 200


def test_journal_cannot_be_added_changed_or_deleted_in_the_admin(admin_client):
    fee = FeeFactory()

    assert admin_client.get(reverse("admin:fees_journalentry_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:fees_journalentry_change", args=[fee.pk]), {"amount_cents": 1}
    )
    assert response.status_code == 403
    assert (
        admin_client.get(reverse("admin:fees_journalentry_delete", args=[fee.pk])).status_code
        == 403
    )
    fee.refresh_from_db()
    assert fee.amount_cents == 500


def test_a_refund_cannot_be_changed_in_the_admin(admin_client, staff):
    order = pay_simulated(make_order(amount_cents=500))
    refund = WaitingRefundFactory(order=order, amount_cents=100, requested_by=staff)

    page = admin_client.get(reverse("admin:payments_refund_change", args=[refund.pk]))
    admin_client.post(
        reverse("admin:payments_refund_change", args=[refund.pk]), {"amount_cents": 1}
    )

    assert page.status_code == 200
    refund.refresh_from_db()
    assert refund.amount_cents == 100
