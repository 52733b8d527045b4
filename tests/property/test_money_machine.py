"""A stateful property test of the money rules: random patrons, bookings, orders, provider
news (repeated, late, out of order, in other currencies), staff actions, API payments with
repeated ids and settlements on successive dates. After every step the invariants hold.

CI runs MONEY_MACHINE_STEPS=2000 steps (the default); `make property` runs 20,000.
"""

import datetime
import itertools
import os
from collections import Counter, defaultdict
from contextlib import suppress

import hypothesis.strategies as st
import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from fees import selectors as ledger
from fees import services as ledger_services
from fees.models import Allocation, JournalEntry
from fees.settlement import SettlementError, settlement_run
from payments import services
from payments.api_keys import api_client_create
from payments.models import EventSource, MoneyReport, OrderFee, OrderStatus, PaymentOrder
from payments.selectors import account_overview
from tests.factories import DeskStaffFactory, PatronFactory

pytestmark = pytest.mark.postgres_only

STEPS_PER_RUN = 50
TOTAL_STEPS = int(os.environ.get("MONEY_MACHINE_STEPS", "2000"))
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
S = OrderStatus

amounts = st.integers(min_value=1, max_value=3000)
picks = st.integers(min_value=0, max_value=10_000)  # an index into whatever list is at hand
# The fields of a journal row that are never written again once it is booked.
IMMUTABLE = ("patron_id", "kind", "amount_cents", "currency", "booked_at", "business_date",
             "booked_by_id", "fee_type", "description", "item", "method", "reference", "note",
             "target_id", "booking_key")  # fmt: skip


class MoneyMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.clock = time_machine.travel(START, tick=True)
        self.traveller = self.clock.start()
        self.patrons = [PatronFactory(), PatronFactory()]
        for patron in self.patrons:  # something to pay from the first step on
            for amount in (500, 1200, 300):
                ledger_services.fee_book(patron=patron, amount_cents=amount, description="Fine")
        self.staff = DeskStaffFactory()
        self.api_client, _key = api_client_create(name=f"kiosk {id(self)}", scopes=[])
        self.seen_rows: dict[int, tuple] = {}
        self.seen_marks: dict[int, tuple] = {}

    def teardown(self):
        if os.environ.get("MONEY_MACHINE_DEBUG"):
            print(
                "orders",
                dict(Counter(PaymentOrder.objects.values_list("status", flat=True))),
                "money",
                MoneyReport.objects.count(),
                "booked",
                MoneyReport.objects.filter(entry__isnull=False).count(),
                "entries",
                JournalEntry.objects.count(),
            )
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)
        self.clock.stop()

    # --- helpers ------------------------------------------------------------------------

    def _patron(self, pick):
        return self.patrons[pick % len(self.patrons)]

    def _order(self, pick):
        orders = list(PaymentOrder.objects.order_by("pk"))
        return orders[pick % len(orders)] if orders else None

    def _open_fees(self, patron):
        return list(ledger.open_fees(patron=patron))

    # --- the ledger ---------------------------------------------------------------------

    @rule(
        kind=st.sampled_from(["fee", "payment", "credit_note", "waiver", "refund"]),
        patron=picks,
        amount=amounts,
        fee=picks,
        whole=st.booleans(),
    )
    def booking(self, kind, patron, amount, fee, whole):
        """What the library system and the counter book: fees, payments, credit notes,
        waivers (all or part of an open fee) and refunds of credit."""
        patron = self._patron(patron)
        fees = [f for f in self._open_fees(patron) if f.kind == "fee"]
        try:
            if kind == "fee":
                ledger_services.fee_book(patron=patron, amount_cents=amount, description="Fine")
            elif kind == "payment":
                ledger_services.payment_book(patron=patron, amount_cents=amount, method="cash")
            elif kind == "credit_note":
                ledger_services.credit_note_book(patron=patron, amount_cents=amount, note="kind")
            elif kind == "waiver" and fees:
                ledger_services.waiver_book(
                    fee=fees[fee % len(fees)], amount_cents=None if whole else amount, note="found"
                )
            elif kind == "refund":
                ledger_services.refund_book(patron=patron, amount_cents=amount, method="cash")
        except ValidationError:
            pass  # refused: nothing is written, which the invariants check

    @rule()
    def settle(self):
        with suppress(SettlementError):
            settlement_run(business_date=timezone.localdate())

    @rule(days=st.integers(min_value=1, max_value=3))
    def time_passes(self, days):
        self.traveller.shift(datetime.timedelta(days=days))

    # --- orders and the provider --------------------------------------------------------

    @rule(
        patron=picks,
        subset=st.lists(picks, min_size=1, max_size=3),
        start=st.booleans(),
        any_fee=st.booleans(),
    )
    def order(self, patron, subset, start, any_fee):
        """An order for some open fees: mostly ones the page offers, at times any (refused)."""
        overview = account_overview(patron=self._patron(patron), on_date=timezone.localdate())
        fees = overview.open_fees if any_fee else overview.selectable_fees
        if not fees:
            return
        chosen = {fees[i % len(fees)].pk for i in subset}
        try:
            order = services.order_create(patron=self._patron(patron), fee_ids=chosen)
        except (ValidationError, services.UnknownFee):
            return
        if start:
            services.order_start(order=order, return_url="https://p/r", cancel_url="https://p/c")

    @rule(
        order=picks,
        status=st.sampled_from(
            [S.CREATED_AT_PROVIDER, S.PAID, S.UNDERPAID, S.FAILED, S.CANCELATION]
        ),
        amount=st.none() | amounts,
        currency=st.sampled_from(["", "EUR", "USD"]),
        event=st.integers(min_value=0, max_value=3),
    )
    def provider_news(self, order, status, amount, currency, event):
        order = self._order(order)
        if order is None:
            return
        services.payment_order_transition(
            order=order, status=status, source=EventSource.PROVIDER, amount_cents=amount,
            currency=currency, provider_event_id=f"evt-{order.pk}-{event}",
            transaction_id=order.provider_transaction_id or "",
        )  # fmt: skip

    @rule(
        for_order=st.booleans(),
        pick=picks,
        amount=amounts,
        caller_id=st.sampled_from(["T1", "T2", "T3"]),
    )
    def api_payment(self, for_order, pick, amount, caller_id):
        """An external system reports a payment, for an order or for a patron; its ids repeat."""
        order = self._order(pick) if for_order else None
        if order is not None:
            services.payment_order_transition(
                order=order, status=S.PAID, source=EventSource.API, amount_cents=amount,
                currency="EUR", api_client=self.api_client, external_id=caller_id,
            )  # fmt: skip
        else:
            services.money_receive_for_patron(
                patron=self._patron(pick), amount_cents=amount, currency="EUR",
                api_client=self.api_client, external_id=caller_id,
            )  # fmt: skip

    # --- staff --------------------------------------------------------------------------

    @rule(action=st.sampled_from(["cancel", "complete", "book_late", "close_money"]), pick=picks)
    def staff(self, action, pick):
        """Staff cancel, complete (once the wait is over), book or close money held for them."""
        order = self._order(pick)
        if order is None:
            return
        if action == "complete":
            self.traveller.shift(datetime.timedelta(days=django_settings.COMPLETE_AFTER_DAYS))
        perform = {
            "cancel": services.order_cancel,
            "complete": services.order_complete,
            "book_late": services.order_book_late_payment,
            "close_money": services.order_close_money,
        }[action]
        with suppress(services.ActionRefused):
            perform(order=order, staff_user=self.staff, reason="checked")

    # --- what must always hold ----------------------------------------------------------

    @invariant()
    def balance_is_the_sum_of_the_entries(self):
        for patron in self.patrons:
            amounts = JournalEntry.objects.filter(patron=patron).values_list("amount_cents")
            assert ledger.balance_cents(patron=patron) == sum(a for (a,) in amounts)

    @invariant()
    def allocations_stay_within_each_entry(self):
        for side, sign in (("debit", 1), ("credit", -1)):
            over = (
                Allocation.objects.values(side)
                .annotate(total=Sum("amount_cents"), amount=F(f"{side}__amount_cents"))
                .filter(total__gt=sign * F("amount"))
            )
            assert not over.exists(), list(over)

    @invariant()
    def money_is_booked_at_most_once_and_only_in_the_library_currency(self):
        for report in MoneyReport.objects.select_related("entry"):
            if report.entry is None:
                continue
            assert report.currency == report.entry.currency == django_settings.LIBRARY_CURRENCY
            assert report.entry.amount_cents == -report.amount_cents
            assert report.entry.booking_key in ("", f"money:{report.pk}")
        keys = Counter(
            JournalEntry.objects.exclude(booking_key="").values_list("booking_key", flat=True)
        )
        assert all(count == 1 for count in keys.values())

    @invariant()
    def an_orders_status_is_its_latest_event(self):
        for order in PaymentOrder.objects.all():
            assert order.status == order.events.order_by("at", "id").last().status

    @invariant()
    def a_fee_is_in_at_most_one_open_order(self):
        reserved = Counter(OrderFee.objects.filter(reserved=True).values_list("fee_id", flat=True))
        assert all(count == 1 for count in reserved.values())
        for line in OrderFee.objects.select_related("order"):
            assert line.reserved == line.order.is_open

    @invariant()
    def no_fee_is_collected_twice(self):
        """A fee is collected by a second order only when that order was made after the
        first one's payment was booked: for what that payment left unpaid."""
        lines = (
            OrderFee.objects.filter(order__payment_entry__isnull=False)
            .select_related("order__payment_entry")
            .order_by("fee_id", "order__created_at", "order_id")
        )
        collected = defaultdict(list)
        for line in lines:
            collected[line.fee_id].append(line.order)
        for fee_id, orders in collected.items():
            for earlier, later in itertools.pairwise(orders):
                assert later.created_at > earlier.payment_entry.booked_at, (fee_id, orders)

    @invariant()
    def no_journal_row_is_changed_or_deleted(self):
        rows = {row[0]: row[1:] for row in JournalEntry.objects.values_list("pk", *IMMUTABLE)}
        marks = dict(
            (pk, (settled, cleared))
            for pk, settled, cleared in JournalEntry.objects.values_list(
                "pk", "settled_in_id", "cleared_in_id"
            )
        )
        for pk, row in self.seen_rows.items():
            assert rows.get(pk) == row, f"journal entry {pk} changed or vanished"
        for pk, (settled, cleared) in self.seen_marks.items():
            now_settled, now_cleared = marks[pk]
            assert settled is None or now_settled == settled
            assert cleared is None or now_cleared == cleared
        self.seen_rows, self.seen_marks = rows, marks


def test_the_money_rules_hold_whatever_happens(db):
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(
            max_examples=max(1, TOTAL_STEPS // STEPS_PER_RUN),
            stateful_step_count=STEPS_PER_RUN,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            print_blob=True,
        ),
    )
