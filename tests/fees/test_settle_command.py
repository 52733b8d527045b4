import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from fees.models import Settlement
from tests.factories import FeeFactory, PatronFactory, PaymentFactory

pytestmark = pytest.mark.django_db

YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


def settle(*args):
    out = StringIO()
    call_command("settle", *args, stdout=out)
    return out.getvalue()


def test_it_settles_the_given_date_and_prints_a_summary():
    patron = PatronFactory()
    FeeFactory(patron=patron, amount_cents=300, business_date=YESTERDAY)
    PaymentFactory(patron=patron, amount_cents=-300, business_date=YESTERDAY)

    output = settle("--date", YESTERDAY.isoformat())

    assert f"Settlement {YESTERDAY}: 2 entries settled" in output
    assert "1 allocations made (3.00 EUR offset)" in output


def test_it_settles_yesterday_the_last_complete_day_by_default():
    settle()

    assert Settlement.objects.get().business_date == YESTERDAY


def test_a_second_run_says_the_date_is_already_settled():
    settle("--date", YESTERDAY.isoformat())

    assert settle("--date", YESTERDAY.isoformat()).startswith("Already settled.")


def test_a_malformed_date_is_refused():
    with pytest.raises(CommandError, match="date"):
        settle("--date", "22.11.2026")
    assert not Settlement.objects.exists()


def test_a_future_date_is_refused_with_a_clear_message():
    with pytest.raises(CommandError, match="in the future"):
        settle("--date", (timezone.localdate() + datetime.timedelta(days=1)).isoformat())


def settled_day():
    patron = PatronFactory()
    FeeFactory(patron=patron, amount_cents=300, business_date=YESTERDAY)
    PaymentFactory(patron=patron, amount_cents=-500, business_date=YESTERDAY)
    settle("--date", YESTERDAY.isoformat(), "--batch", "1")
    return Settlement.objects.get()


def test_check_proves_the_kept_totals_equal_the_rows():
    settled_day()

    assert "1 settlements: every total equals its rows." in settle("--check")


def test_check_names_a_total_that_drifted_from_its_rows():
    settlement = settled_day()
    Settlement.objects.filter(pk=settlement.pk).update(credits_cents=999)

    with pytest.raises(CommandError, match="1 totals differ"):
        call_command("settle", "--check", stdout=StringIO(), stderr=(errors := StringIO()))

    assert "credits_cents: kept 999, rows 500" in errors.getvalue()
