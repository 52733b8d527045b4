"""What the order page shows staff about an order."""

import pytest
from django.urls import reverse

from payments import services
from tests.factories import FeeFactory, PatronFactory

pytestmark = pytest.mark.django_db


def fee_table(client, order):
    page = client.get(reverse("staffdesk:order", args=[order.reference])).content.decode()
    start = page.index('<table id="fees">')
    return page[start : page.index("</table>", start)]


@pytest.fixture
def fee():
    return FeeFactory(
        patron=PatronFactory(), amount_cents=250, description="Overdue fine", item="Dune"
    )


def test_fee_table_has_a_header(desk_client, fee):
    order = services.order_create(patron=fee.patron, fee_ids=[fee.pk])

    table = fee_table(desk_client, order)

    assert "<thead>" in table
    assert all(f">{name}</th>" in table for name in ("Fee", "Item", "Amount"))


def test_fee_table_names_description_item_and_amount_without_journal_ids(desk_client, fee):
    order = services.order_create(patron=fee.patron, fee_ids=[fee.pk])

    table = fee_table(desk_client, order)

    assert "<td>Overdue fine</td>" in table
    assert "<td>Dune</td>" in table
    assert "2.50 EUR" in table
    assert f">{fee.pk}<" not in table
