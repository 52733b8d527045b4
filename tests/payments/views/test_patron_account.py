import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from fees import services
from fees.settlement import settlement_run
from payments.models import PaymentOrder
from tests.factories import (
    DeskStaffFactory,
    FeeFactory,
    LoanFactory,
    OwnerFactory,
    PatronFactory,
    PaymentFactory,
)
from tests.payments.helpers import choose, start_payment

pytestmark = pytest.mark.django_db

URL = reverse("payments:account")
YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


def test_account_shows_balance_open_fees_and_unsettled_payments(client, patron):
    FeeFactory(patron=patron, amount_cents=1200, description="Damaged cover")
    services.payment_book(patron=patron, amount_cents=500, method="cash")
    client.force_login(patron.user)

    page = client.get(URL).content.decode()

    assert 'id="balance">7.00 EUR' in page
    assert "Damaged cover" in page
    assert "12.00 EUR" in page
    assert "not yet settled" in page


def test_account_shows_accruing_fines_apart_from_the_balance(client, patron):
    LoanFactory(
        patron=patron,
        item="Faust I",
        due_date=timezone.localdate() - datetime.timedelta(days=4),
        daily_fine_cents=50,
    )
    client.force_login(patron.user)

    page = client.get(URL).content.decode()

    assert "Faust I" in page
    assert 'class="accruing"' in page
    assert "2.00 EUR" in page
    assert 'id="balance">0.00 EUR' in page


def test_account_shows_only_the_logged_in_patrons_fees(client, patron):
    FeeFactory(patron=PatronFactory(), description="Someone else's fine")
    client.force_login(patron.user)

    page = client.get(URL).content.decode()

    assert "Someone else" not in page


def test_account_in_german_uses_german_number_format(client, patron):
    FeeFactory(patron=patron, amount_cents=1250)
    client.force_login(patron.user)

    page = client.get(URL, headers={"accept-language": "de"}).content.decode()

    assert "12,50 EUR" in page


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_staff_user_has_no_patron_account(client):
    client.force_login(DeskStaffFactory())

    assert client.get(URL).status_code == 404


def test_account_page_query_count_does_not_grow_with_fees(client, patron):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(patron.user)

    def queries_with(fee_count):
        for _ in range(fee_count):
            FeeFactory(patron=patron, amount_cents=100)
            LoanFactory(patron=patron)
        # Each time one more fee is paid in full today: the page names the payment.
        services.payment_book(patron=patron, amount_cents=100)
        with CaptureQueriesContext(connection) as captured:
            page = client.get(URL).content.decode()
        assert "Paid; it is offset in the next daily settlement." in page
        return len(captured.captured_queries)

    assert queries_with(2) == queries_with(30)


def test_account_page_speaks_german(client, patron):
    FeeFactory(patron=patron, amount_cents=1250, description="Overdue fine")
    client.force_login(patron.user)
    client.post(reverse("set_language"), {"language": "de"})

    page = client.get(URL).content.decode()

    assert '<html lang="de">' in page
    assert "Offene Gebühren" in page
    assert "Kontostand" in page
    assert "Ausgewählte Gebühren bezahlen" in page
    assert "English" in page  # the switch back, named in its own language


def test_a_negative_balance_reads_as_a_credit(client, patron):
    services.payment_book(patron=patron, amount_cents=500, method="cash")
    client.force_login(patron.user)

    page = client.get(URL).content.decode()

    assert "You have a credit of 5.00 EUR." in page
    assert "-5.00" not in page


def test_credit_carried_forward_is_not_shown_twice_beside_a_negative_balance(client, patron):
    # Credit the settlement carried forward: nothing owed, 5.00 left over.
    PaymentFactory(patron=patron, amount_cents=-500, business_date=YESTERDAY)
    settlement_run(business_date=YESTERDAY)
    client.force_login(patron.user)

    page = client.get(URL).content.decode()

    assert 'id="credit"' not in page


def paid(patron):
    services.payment_book(patron=patron, amount_cents=500, method="cash")


def paid_and_refunded(patron):
    paid(patron)
    services.refund_book(patron=patron, amount_cents=200, method="cash")


def paid_and_reversed(
    patron, reference="EP-AAAA-AAAA", provider_reference="simevt_0123456789abcdef"
):
    payment = services.payment_book(patron=patron, amount_cents=500, reference=reference)
    services.reversal_book(payment=payment, reference=provider_reference)


@pytest.mark.parametrize(
    ("book", "says"),
    [
        pytest.param(paid, "5.00 EUR paid", id="paid"),
        pytest.param(paid_and_refunded, "2.00 EUR refunded", id="refunded"),
        pytest.param(paid_and_reversed, "5.00 EUR reversed", id="reversed"),
    ],
)
def test_recent_payments_say_which_way_the_money_went(client, patron, book, says):
    book(patron)
    client.force_login(patron.user)

    page = client.get(URL).content.decode()

    assert says in page


def test_a_chargeback_is_shown_with_the_payments_reference_not_the_providers(client, patron):
    paid_and_reversed(patron, reference="EP-AAAA-AAAA", provider_reference="evt_1Pq2Rs3Tu4Vw")
    client.force_login(patron.user)

    page = client.get(URL).content.decode()

    assert "evt_1Pq2Rs3Tu4Vw" not in page
    assert "EP-AAAA-AAAA" in page


def test_nothing_is_selected_at_first(client, patron):
    FeeFactory(patron=patron, amount_cents=1200)
    client.force_login(patron.user)

    page = client.get(URL).content.decode()

    assert re.search(r"Selected: <strong[^>]*>0\.00 EUR</strong>", page)


def test_a_refused_selection_states_its_total(client, patron):
    fees = [FeeFactory(patron=patron, amount_cents=cents) for cents in (500, 1200)]
    services.credit_note_book(patron=patron, amount_cents=1000, note="Goodwill")
    client.force_login(patron.user)

    response = client.post(reverse("payments:pay"), {"fee": [fee.pk for fee in fees]})

    assert "at most 7.00 EUR" in response.content.decode()
    assert re.search(r"Selected: <strong[^>]*>17\.00 EUR</strong>", response.content.decode())


def test_each_fee_tells_the_running_total_what_it_would_charge(client, patron):
    fee = FeeFactory(patron=patron, amount_cents=1200)
    services.payment_book(patron=patron, amount_cents=500, method="cash")
    client.force_login(patron.user)

    page = client.get(URL).content.decode()

    assert f'data-cents="700" value="{fee.pk}"' in page


def test_each_open_fee_names_its_fee_type(client, patron):
    FeeFactory(patron=patron, description="Torn cover", fee_type="lost_item")
    client.force_login(patron.user)

    page = client.get(URL).content.decode()

    assert "Torn cover" in page
    assert "(Lost or damaged item)" in page


def test_the_fee_type_is_named_in_the_patrons_language(client, patron):
    FeeFactory(patron=patron, description="Torn cover", fee_type="lost_item")
    client.force_login(patron.user)

    page = client.get(URL, headers={"accept-language": "de"}).content.decode()

    assert "(Verlorenes oder beschädigtes Medium)" in page


def open_fee_rows(page: str) -> str:
    """The open fees' table of the account page."""
    return page[page.index('id="open-fees"') : page.index("Recent payments and credits")]


def test_payable_online_now_counts_only_what_can_be_ticked_and_names_the_rest(
    client, patron, desk_only
):
    FeeFactory(patron=patron, amount_cents=900, fee_type=desk_only.code)
    FeeFactory(patron=patron, amount_cents=450)
    client.force_login(patron.user)

    page = client.get(URL).content.decode()

    assert 'id="payable">4.50 EUR' in page
    assert "9.00 EUR can only be paid at the library desk." in page


def test_when_no_fee_fits_the_balance_the_page_says_what_to_do_and_offers_no_button(client, patron):
    FeeFactory(patron=patron, amount_cents=800)
    services.credit_note_book(patron=patron, amount_cents=500, note="Goodwill")
    client.force_login(patron.user)

    page = client.get(URL).content.decode()

    assert (
        "None of these fees fits within your balance of 3.00 EUR until your credit of "
        "5.00 EUR is set against them in the next daily settlement." in page
    )
    assert "Pay selected fees" not in page


def test_a_fee_whose_payment_was_charged_back_reads_as_owed_again(patron_client, fees):
    checkout_url = start_payment(patron_client, fees[0]).url
    choose(patron_client, checkout_url, "pay")
    choose(patron_client, checkout_url, "chargeback")
    order = PaymentOrder.objects.get()

    rows = open_fee_rows(patron_client.get(URL).content.decode())

    assert (
        f"Owed again: your payment {order.reference} was taken back through your bank"
        " (chargeback)." in rows
    )
    assert "Returned payment" not in rows
    assert "Paid" not in rows
    assert f'data-cents="500" value="{fees[0].pk}"' in rows


def test_two_fees_paid_by_one_payment_are_described_alike(patron_client, fees):
    choose(patron_client, start_payment(patron_client, fees[0], fees[2]).url, "pay")
    order = PaymentOrder.objects.get()

    rows = open_fee_rows(patron_client.get(URL).content.decode())

    said = f"Paid ({order.reference}); it is offset in the next daily settlement."
    assert rows.count(said) == 2


def test_the_amount_column_shows_what_is_still_to_pay_of_a_fee(client, patron):
    FeeFactory(patron=patron, amount_cents=1200)
    services.payment_book(patron=patron, amount_cents=700, method="cash")
    client.force_login(patron.user)

    rows = open_fee_rows(client.get(URL).content.decode())

    assert re.search(r'data-label="Still to pay">5\.00 EUR</td>', rows)
    assert not re.search(r'data-label="Still to pay">12\.00 EUR</td>', rows)


def test_a_refund_to_the_card_is_one_line_among_recent_payments(patron_client, refunded):
    page = patron_client.get(URL).content.decode()

    recent = page[page.index("Recent payments and credits") :]
    assert f'Refund to your card <span class="muted">{refunded.order.reference}' in recent
    assert "0.70 EUR credited" not in recent
    assert recent.count("0.70 EUR refunded") == 1


def test_each_owners_fees_are_a_group_with_its_own_total_and_pay_button(patron_client, fees):
    FeeFactory(patron=fees[0].patron, amount_cents=700, owner=OwnerFactory(name_en="North Branch"))

    page = patron_client.get(URL).content.decode()

    assert re.search(
        r'<h3 id="owner-\d+">North Branch <span class="muted">· 7\.00 EUR still to pay', page
    )
    assert "Pay selected fees of North Branch" in page
    assert page.count('action="/pay/"') == 2


def test_one_owner_shows_no_groups(patron_client, fees):
    page = patron_client.get(URL).content.decode()

    assert "<h3" not in page
    assert "Pay selected fees</button>" in page


def test_an_owners_service_fee_is_shown_before_paying_its_group_only(patron_client, fees):
    north = OwnerFactory(name_en="North Branch", service_fee_cents=50)
    FeeFactory(patron=fees[0].patron, amount_cents=700, owner=north)

    page = patron_client.get(URL).content.decode()

    note = "North Branch adds a service fee of 0.50 EUR to each online payment"
    assert page.count(note) == 1
    assert page.index(note) > page.index(f'id="owner-{north.pk}"')
    assert page.count("service fee") == 1
