"""The orders list (search keys, filters, order, pagination and a constant query count) and
what an order's page shows staff."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from payments import services
from payments.models import EventSource, PaymentOrder
from staffdesk import selectors
from tests.factories import FeeFactory, PatronFactory
from tests.staffdesk.conftest import make_order, pay_simulated, underpaid

pytestmark = pytest.mark.django_db

URL = reverse("staffdesk:orders")


def listed(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200
    return [order.reference for order in response.context["page"].object_list]


@pytest.fixture
def two_orders():
    return make_order(patron=PatronFactory(card_number="7770001", user_number="U-1")), make_order(
        patron=PatronFactory(card_number="7770002", user_number="U-2")
    )


def test_finds_an_order_by_its_reference(desk_client, two_orders):
    first, _ = two_orders

    assert listed(desk_client, q=first.reference) == [first.reference]


def test_finds_an_order_by_the_start_of_its_reference(desk_client, two_orders):
    first, _ = two_orders

    assert first.reference in listed(desk_client, q=first.reference[:6])


def test_reference_search_forgives_case_and_missing_dashes(desk_client, two_orders):
    first, _ = two_orders
    spoken = first.reference.replace("-", " ").lower()

    assert listed(desk_client, q=spoken) == [first.reference]


def test_finds_orders_by_card_number(desk_client, two_orders):
    _, second = two_orders

    assert listed(desk_client, q="7770002") == [second.reference]


def test_finds_orders_by_user_number(desk_client, two_orders):
    first, _ = two_orders

    assert listed(desk_client, q="U-1") == [first.reference]


def test_finds_orders_by_user_number_typed_in_another_case(desk_client, two_orders):
    first, _ = two_orders

    assert listed(desk_client, q="u-1") == [first.reference]


def test_finds_orders_by_card_number_typed_with_spaces_and_in_lower_case(desk_client):
    order = make_order(patron=PatronFactory(card_number="LB7770003"))

    assert listed(desk_client, q="lb 777 0003") == [order.reference]


@pytest.mark.postgres_only
def test_the_number_search_reads_patrons_through_indexes_only():
    PatronFactory.create_batch(3)
    with connection.cursor() as cursor:
        # A few rows are cheaper to scan; the question is whether an index *can* serve.
        cursor.execute("SET LOCAL enable_seqscan = off")

    plan = selectors.patrons_by_number("u-1006").explain()

    assert "patron_user_number_upper" in plan
    assert "Seq Scan" not in plan


def test_filters_by_status(desk_client, two_orders):
    first, _ = two_orders
    services.payment_order_transition(order=first, status="Paid", source=EventSource.PROVIDER)

    assert listed(desk_client, status="Paid") == [first.reference]


def test_filters_by_date_range(desk_client):
    old = make_order(days_old=20)
    new = make_order()
    today = timezone.localdate()

    assert listed(desk_client, date_from=today.isoformat()) == [new.reference]
    assert listed(desk_client, date_to=(today - datetime.timedelta(days=10)).isoformat()) == [
        old.reference
    ]


def test_filters_by_mode(desk_client, two_orders):
    assert len(listed(desk_client, mode="test")) == 2
    assert listed(desk_client, mode="live") == []


def test_needs_attention_finds_underpaid_chargebacks_late_paid_and_stuck(desk_client):
    fine = make_order()
    underpaid = make_order()
    services.payment_order_transition(
        order=underpaid, status="Paid", source=EventSource.PROVIDER, amount_cents=100
    )
    stuck = make_order(days_old=2)
    charged_back = make_order()
    services.payment_order_transition(order=charged_back, status="Paid", source="provider")
    services.payment_order_transition(order=charged_back, status="Cancelation", source="provider")
    late = make_order()
    services.payment_order_transition(order=late, status="CancelledByBib", source="staff")
    services.payment_order_transition(order=late, status="Paid", source="provider")

    found = listed(desk_client, attention="on")

    assert set(found) == {o.reference for o in (underpaid, stuck, charged_back, late)}
    assert fine.reference not in found


def test_newest_first(desk_client):
    older, newer = make_order(days_old=3), make_order()

    assert listed(desk_client) == [newer.reference, older.reference]


def test_an_end_date_before_the_start_date_is_explained(desk_client, two_orders):
    response = desk_client.get(URL, {"date_from": "2026-11-20", "date_to": "2026-11-01"})

    assert "The end date is before the start date." in response.content.decode()
    assert list(response.context["page"].object_list) == []


def test_a_malformed_date_is_explained(desk_client):
    response = desk_client.get(URL, {"date_from": "yesterday"})

    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()


def test_query_count_is_the_same_for_a_full_and_a_short_page(desk_client):
    def queries_for_page_with(count):
        while PaymentOrder.objects.count() < count:
            make_order(start=False)
        with CaptureQueriesContext(connection) as captured:
            desk_client.get(URL)
        return len(captured.captured_queries)

    assert queries_for_page_with(3) == queries_for_page_with(30)


def test_pages_go_forward_and_back_without_counting(desk_client):
    for _ in range(27):
        make_order(start=False)

    first = desk_client.get(URL).context["page"]
    second = desk_client.get(URL, {"page": 2}).context["page"]
    beyond = desk_client.get(URL, {"page": 99}).context["page"]

    assert (len(first), first.has_next(), first.has_previous()) == (25, True, False)
    assert (len(second), second.has_next(), second.previous_page_number()) == (2, False, 1)
    assert beyond.number == 1
    assert "page=2" in desk_client.get(URL).content.decode()


def test_needs_attention_stays_within_the_states_its_index_covers(desk_client):
    from payments.models import ATTENTION_STATES
    from payments.selectors import needs_attention_q

    for status in ("Paid", "Underpaid", "Failed", "CancelledByBib"):
        order = make_order(days_old=3)
        services.payment_order_transition(order=order, status=status, source="provider")
    make_order(days_old=3)

    flagged = PaymentOrder.objects.filter(needs_attention_q(now=timezone.now()))

    assert flagged.exists()
    assert not flagged.exclude(ATTENTION_STATES).exists()


@pytest.mark.parametrize("searched_by", ["reference", "card_number", "user_number"])
def test_search_query_count_does_not_grow_with_the_orders_found(desk_client, searched_by):
    def queries_to_find(order_count):
        patron = PatronFactory()
        orders = [make_order(patron=patron, start=False) for _ in range(order_count)]
        newest = orders[-1]
        value = newest.reference if searched_by == "reference" else getattr(patron, searched_by)
        with CaptureQueriesContext(connection) as captured:
            found = desk_client.get(URL, {"q": value}).context["page"].object_list
        assert newest in found
        return len(captured.captured_queries)

    assert queries_to_find(1) == queries_to_find(30)


def fee_table(client, order):
    page = client.get(reverse("staffdesk:order", args=[order.reference])).content.decode()
    start = page.index('id="fees"')
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

    assert '"Fee">Overdue fine</td>' in table
    assert '"Item">Dune</td>' in table
    assert "2.50 EUR" in table
    assert f">{fee.pk}<" not in table


def rest_paid_online(order):
    """The patron pays the underpaid order's fee again online: the later order, paid."""
    rest = services.order_create(patron=order.patron, fee_ids=[order.order_fees.get().fee_id])
    services.order_start(order=rest, return_url="https://p/r", cancel_url="https://p/c")
    rest.refresh_from_db()
    pay_simulated(rest)
    return rest


def test_needs_attention_leaves_out_an_underpaid_order_whose_rest_was_paid_online(desk_client):
    order = underpaid()
    rest_paid_online(order)

    assert order.reference not in listed(desk_client, attention="on")
    assert order.reference in listed(desk_client)


def test_the_order_page_lists_the_later_order_that_paid_its_fees(desk_client):
    order = underpaid()
    rest = rest_paid_online(order)

    page = desk_client.get(reverse("staffdesk:order", args=[order.reference])).content.decode()

    assert 'id="later-orders"' in page
    assert reverse("staffdesk:order", args=[rest.reference]) in page
    assert "3.00 EUR" in page
