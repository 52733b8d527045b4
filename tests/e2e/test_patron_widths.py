"""Every patron page fits the screen, on a phone (390 px) and a desktop (1280 px), in English
and German: the page does not scroll sideways and no table is cut off in its box."""

import pytest

from payments import services
from payments.models import EventSource, OrderStatus
from tests.e2e.conftest import DESKTOP, OVERFLOWING, PHONE, signed_in_site
from tests.factories import FeeFactory, LoanFactory, OwnerFactory, PatronFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def patron_pages():
    """A patron with open fees of two owners, accruing fines, a paid, an underpaid and a
    given-up order."""
    patron = PatronFactory(first_name="Maximiliane", last_name="Schwarzenberger-Hohenlohe")
    fees = [
        FeeFactory(patron=patron, amount_cents=cents, description=text, item=item)
        for cents, text, item in (
            (500, "Säumnisgebühr", "Die unendliche Geschichte"),
            (1200, "Ersatzbeschaffung verlorenes Medium", "Atlas der Weltgeschichte"),
            (300, "Mahngebühr", ""),
            (900, "Vormerkgebühr", "Krabat"),
        )
    ]
    # A fee of a second owner: the account shows each owner's fees as a group.
    branch = OwnerFactory(name_en="North Branch", name_de="Zweigstelle Nord-Ost (Campus)")
    FeeFactory(patron=patron, amount_cents=400, description="Säumnisgebühr", owner=branch)
    LoanFactory(patron=patron)
    paid = services.order_create(patron=patron, fee_ids=[fees[0].pk])
    services.payment_order_transition(order=paid, status=OrderStatus.PAID, source="provider")
    underpaid = services.order_create(patron=patron, fee_ids=[fees[1].pk])
    services.payment_order_transition(
        order=underpaid, status=OrderStatus.PAID, source=EventSource.PROVIDER, amount_cents=700
    )
    given_up = services.order_create(patron=patron, fee_ids=[fees[3].pk])
    services.order_abandon(order=given_up, patron=patron)
    return patron, {
        "account": "/account/",
        "orders": "/orders/",
        "paid order": f"/orders/{paid.reference}/",
        "underpaid order": f"/orders/{underpaid.reference}/",
        "given-up order": f"/orders/{given_up.reference}/",
        "receipt": f"/orders/{paid.reference}/receipt/",
    }


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_every_patron_page_fits_the_screen(browser, live_server, patron_pages, viewport, language):
    patron, pages = patron_pages
    with signed_in_site(
        browser, live_server, viewport=viewport, language=language,
        username=patron.card_number, start="/account/",
    ) as site:  # fmt: skip
        too_wide = {}
        for name, path in pages.items():
            page = site.open(path)
            if found := page.evaluate(OVERFLOWING):
                too_wide[name] = found
            site.check_accessibility(f"patron {name}, {viewport['width']} px, {language}")
    assert too_wide == {}
