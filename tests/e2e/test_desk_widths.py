"""Every desk page fits the screen, on a phone (390 px) and a desktop (1280 px), in English
and German: the page does not scroll sideways, and no table is cut off in its box (its key
columns and buttons are on the screen); axe finds nothing serious on any of them."""

import pytest
from django.contrib.auth.models import Permission

from fees import services as ledger
from fees.models import Delivery
from payments import services
from payments.models import EventSource, OrderStatus, UnmatchedProviderReport
from tests.e2e.conftest import DESKTOP, OVERFLOWING, PHONE, signed_in_site
from tests.factories import DeskStaffFactory, FeeFactory, PatronFactory
from tests.staffdesk.conftest import make_order, pay_simulated

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def desk():
    """What each desk page shows, with long words where staff meet them."""
    staff = DeskStaffFactory(username="desk1")
    staff.user_permissions.add(Permission.objects.get(codename="refund_to_card"))
    patron = PatronFactory(
        card_number="1000000006", user_number="U-1006", first_name="Maximiliane",
        last_name="Schwarzenberger-Hohenlohe",
    )  # fmt: skip
    FeeFactory(patron=patron, description="Ersatzbeschaffung verlorenes Medium", item="A title")
    paid = pay_simulated(make_order(patron=patron, amount_cents=800))
    underpaid = make_order(patron=patron, amount_cents=900, days_old=2)
    services.payment_order_transition(
        order=underpaid, status=OrderStatus.UNDERPAID, source=EventSource.PROVIDER,
        amount_cents=400, payment_method="card",
    )  # fmt: skip
    payment = ledger.payment_book(patron=patron, amount_cents=500, method="cash")
    Delivery.objects.filter(entry=payment).update(
        status=Delivery.Status.FAILED, attempts=3,
        last_error="422 Unprocessable Entity: account line 4711 is unknown to the library "
        "system (accountlines_id=4711, borrowernumber=1006)",
    )  # fmt: skip
    UnmatchedProviderReport.objects.create(
        provider="stripe", event_id="evt_1Qy8ZZK3v9mLr2aBcDeFgHiJ", status=OrderStatus.CHARGEBACK,
        payment_id="pi_3Qy8ZZK3v9mLr2aB0xYz1234", transaction_id="cs_test_a1B2c3D4e5F6g7H8i9J0",
        order_reference="EP-ZZZZ-ZZZZ", amount_cents=1250, currency="EUR",
        note="A dispute for a payment no order knows",
    )  # fmt: skip
    return {"paid": paid, "underpaid": underpaid, "patron": patron}


def desk_pages(desk):
    paid, underpaid = desk["paid"].reference, desk["underpaid"].reference
    return {
        "start page": "/desk/",
        "orders list": "/desk/orders/",
        "order page": f"/desk/orders/{underpaid}/",
        "paid order page": f"/desk/orders/{paid}/",
        "patron page": f"/desk/patrons/{desk['patron'].user_number}/",
        "deliveries": "/desk/deliveries/",
        "refund page": f"/desk/orders/{paid}/refund/",
        "accounting": "/desk/accounting/",
        "provider reports": "/desk/provider-reports/",
    }


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_every_desk_page_fits_the_screen(browser, live_server, desk, viewport, language):
    with signed_in_site(
        browser, live_server, viewport=viewport, language=language,
        username="desk1", start="/desk/",
    ) as site:  # fmt: skip
        too_wide = {}
        for name, path in desk_pages(desk).items():
            page = site.open(path)
            assert page.locator("h1").count() == 1, name
            if found := page.evaluate(OVERFLOWING):
                too_wide[name] = found
            site.check_accessibility(f"desk {name}, {viewport['width']} px, {language}")
    assert too_wide == {}
