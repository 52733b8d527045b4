"""The account summary for kiosks (payments.api.accounts)."""

import pytest

from payments import services
from tests.factories import FeeFactory

pytestmark = pytest.mark.django_db


def test_account_summary_for_a_kiosk(call, key, patron):
    fee = FeeFactory(patron=patron, amount_cents=700, description="Lost atlas")
    services.order_create(patron=patron, fee_ids=[fee.pk])

    summary = call("get", "/patrons/U-77/account", key=key).json()

    assert (summary["balance_cents"], summary["payable_cents"]) == (700, 0)
    assert summary["open_fees"][0]["description"] == "Lost atlas"
    assert summary["open_fees"][0]["in_open_order"] is True
    assert summary["open_orders"][0]["amount_cents"] == 700


def test_account_of_an_unknown_patron_is_not_found(call, key):
    assert call("get", "/patrons/U-404/account", key=key).status_code == 404
