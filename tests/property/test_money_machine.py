"""A stateful property test of the money rules: random patrons, bookings, orders, provider
news (repeated, late, out of order, in other currencies; chargebacks of all or part of a
payment), staff actions, API payments with repeated ids, the library system's corrections
(raise, lower, cancel, whole-set syncs), partial refunds and settlements on successive
dates. After every step the invariants hold.

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

from fees import selectors as fees_selectors
from fees import services as ledger
from fees.corrections import fee_cancel, fee_correct, fees_sync
from fees.models import Allocation, EntryKind, JournalEntry, Owner, PaymentShare
from fees.settlement import SettlementError, settlement_run
from payments import services
from payments.api_keys import api_client_create
from payments.models import (
    REFUND_RESERVING_STATUSES,
    EventSource,
    MoneyReport,
    OrderFee,
    OrderStatus,
    PaymentOrder,
    Refund,
)
from payments.providers.base import RefundUpdate
from payments.selectors import account_overview
from payments.services import refunds
from tests.factories import DeskStaffFactory, OwnerFactory, PatronFactory

pytestmark = pytest.mark.postgres_only

STEPS_PER_RUN = 50
TOTAL_STEPS = int(os.environ.get("MONEY_MACHINE_STEPS", "2000"))
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
S = OrderStatus
LIBRARY = "koha"

amounts = st.integers(min_value=1, max_value=3000)
picks = st.integers(min_value=0, max_value=10_000)  # an index into whatever list is at hand
# The fields of a journal row that are never written again once it is booked.
IMMUTABLE = ("patron_id", "kind", "amount_cents", "currency", "booked_at", "business_date",
             "booked_by_id", "fee_type", "description", "item", "method", "reference", "note",
             "target_id", "booking_key", "owner_id")  # fmt: skip


class MoneyMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.clock = time_machine.travel(START, tick=True)
        self.traveller = self.clock.start()
        self.patrons = [PatronFactory(), PatronFactory()]
        # Two owners, each with its own merchant account: a branch beside the default, which
        # adds a service fee to each online payment.
        self.branch = OwnerFactory(code="NORTH", service_fee_cents=50)
        for patron in self.patrons:  # something to pay from the first step on
            for amount, owner in ((500, ""), (1200, "NORTH"), (300, "")):
                ledger.fee_book(patron=patron, amount_cents=amount, description="Fine", owner=owner)
        self.staff = DeskStaffFactory()
        self.api_client, _key = api_client_create(name=f"kiosk {id(self)}", scopes=[])
        # What the library system last said each of its fees charges, by fee entry id.
        self.said: dict[int, int] = {}
        # Fees a correction set below what was paid of them: that money became credit.
        self.credited: set[int] = set()
        self.library_ids = itertools.count(1)
        for patron in self.patrons:
            self._sync(patron, [(f"L-{next(self.library_ids)}", amount) for amount in (800, 450)])
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
        return list(fees_selectors.open_fees(patron=patron))

    def _library_fees(self, patron):
        return list(
            JournalEntry.objects.filter(
                patron=patron, kind="fee", source_system=LIBRARY, pk__in=self.said
            ).order_by("pk")
        )

    def _sync(self, patron, items):
        """Send the library system's whole set; what it now charges is what it said."""
        result = fees_sync(
            patron=patron, system=LIBRARY, note="sync",
            fees=[{"fee_id": fee_id, "amount_cents": cents, "currency": "EUR",
                   "description": "Library fee"} for fee_id, cents in items],
        )  # fmt: skip
        by_id = {fee.external_id: fee for fee in self._library_fees(patron)}
        by_id |= {fee.external_id: fee for fee in result.booked}
        self._credited(result.corrected)
        sent = {fee_id for fee_id, _cents in items}
        for fee_id, cents in items:
            self.said[by_id[fee_id].pk] = cents
        for fee_id, fee in by_id.items():
            if fee_id not in sent:
                self.said.pop(fee.pk, None)  # closed in the library system: written off

    # --- the library system -------------------------------------------------------------

    @rule(
        patron=picks,
        fee=picks,
        action=st.sampled_from(["raise", "lower", "cancel"]),
        amount=st.integers(min_value=0, max_value=3000),
    )
    def library_correction(self, patron, fee, action, amount):
        """The library system raises, lowers or cancels one of its fees."""
        fees = self._library_fees(self._patron(patron))
        if not fees:
            return
        fee = fees[fee % len(fees)]
        if action == "cancel":
            self._credited([fee_cancel(fee=fee, note="cancelled")])
            self.said[fee.pk] = 0
            return
        charged = self.said[fee.pk]
        new = charged + amount if action == "raise" else max(0, charged - amount)
        self._credited([fee_correct(fee=fee, amount_cents=new, note=action)])
        self.said[fee.pk] = new

    def _credited(self, corrections):
        self.credited |= {c.fee.pk for c in corrections if c.already_paid_cents}

    @rule(
        patron=picks,
        changes=st.lists(st.sampled_from(["keep", "change", "drop"]), max_size=4),
        amounts=st.lists(amounts, min_size=4, max_size=4),
        new=st.booleans(),
    )
    def library_sync(self, patron, changes, amounts, new):
        """The library system sends the whole set: some fees the same, some changed, some
        gone (closed there), perhaps a new one."""
        patron = self._patron(patron)
        items = []
        for index, fee in enumerate(self._library_fees(patron)):
            change = changes[index] if index < len(changes) else "keep"
            if change == "keep":
                items.append((fee.external_id, self.said[fee.pk]))
            elif change == "change":
                items.append((fee.external_id, amounts[index % 4]))
        if new:
            items.append((f"L-{next(self.library_ids)}", amounts[0]))
        self._sync(patron, items)

    @rule(order=picks, amount=amounts)
    def partial_refund(self, order, amount):
        """Staff refund part of an order's payment; the provider confirms it."""
        order = self._order(order)
        if order is None:
            return
        try:
            refund = refunds.refund_record(
                order=order, amount_cents=amount, source=Refund.Source.PAYMENT,
                reason="found", staff_user=self.staff,
            )  # fmt: skip
        except ValidationError:
            return
        refunds.refund_update_apply(
            provider_name=order.provider,
            update=RefundUpdate(status="succeeded", refund_reference=refund.reference),
        )

    # --- the ledger ---------------------------------------------------------------------

    @rule(
        kind=st.sampled_from(["fee", "payment", "credit_note", "waiver", "refund"]),
        patron=picks,
        amount=amounts,
        fee=picks,
        whole=st.booleans(),
        branch=st.booleans(),
    )
    def booking(self, kind, patron, amount, fee, whole, branch):
        """What the library system and the counter book: fees, payments, credit notes,
        waivers (all or part of an open fee) and refunds of credit."""
        patron = self._patron(patron)
        fees = [f for f in self._open_fees(patron) if f.kind == "fee"]
        try:
            if kind == "fee":
                ledger.fee_book(
                    patron=patron, amount_cents=amount, description="Fine",
                    owner="NORTH" if branch else "",
                )  # fmt: skip
            elif kind == "payment":
                ledger.payment_book(patron=patron, amount_cents=amount, method="cash")
            elif kind == "credit_note":
                ledger.credit_note_book(patron=patron, amount_cents=amount, note="kind")
            elif kind == "waiver" and fees:
                ledger.waiver_book(
                    fee=fees[fee % len(fees)], amount_cents=None if whole else amount, note="found"
                )
            elif kind == "refund":
                ledger.refund_book(patron=patron, amount_cents=amount, method="cash")
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
        fees = (
            overview.open_fees
            if any_fee
            else [line.fee for line in overview.lines if line.selectable]
        )
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
            [S.CREATED_AT_PROVIDER, S.PAID, S.UNDERPAID, S.FAILED, S.CHARGEBACK]
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
            assert fees_selectors.balance_cents(patron=patron) == sum(a for (a,) in amounts)

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

    # --- money never crosses owners ---------------------------------------------------

    def _owner_of(self, owner_id):
        return owner_id or self.default_owner_id

    @property
    def default_owner_id(self):
        return Owner.objects.default().pk

    @invariant()
    def an_order_holds_the_fees_of_one_owner_its_own(self):
        for line in OrderFee.objects.filter(fee__kind=EntryKind.FEE).select_related(
            "order", "fee__target"
        ):
            fee = line.fee.target if line.fee.target_id else line.fee  # an increase: its fee
            assert self._owner_of(fee.owner_id) == self._owner_of(line.order.owner_id)

    @invariant()
    def money_reported_for_an_order_reaches_its_owners_account(self):
        """Each owner's money received is what was reported for its orders."""
        received, reported = Counter(), Counter()
        for report in MoneyReport.objects.filter(
            order__isnull=False, entry__isnull=False
        ).select_related("order", "entry"):
            received[self._owner_of(report.entry.owner_id)] += -report.entry.amount_cents
            reported[self._owner_of(report.order.owner_id)] += report.amount_cents
        assert received == reported

    @invariant()
    def chargebacks_and_refunds_stay_with_the_orders_owner(self):
        for reversal in JournalEntry.objects.filter(kind=EntryKind.REVERSAL).select_related(
            "target"
        ):
            assert reversal.owner_id == reversal.target.owner_id
        for refund in Refund.objects.filter(entry__isnull=False).select_related("order", "entry"):
            assert self._owner_of(refund.entry.owner_id) == self._owner_of(refund.order.owner_id)

    @invariant()
    def a_service_fee_is_its_orders_owners_once_paid_in_full(self):
        orders = {order.reference: order for order in PaymentOrder.objects.all()}
        service_fees = JournalEntry.objects.filter(kind=EntryKind.FEE, fee_type="service_fee")
        for fee in service_fees:
            order = orders[fee.description]
            assert self._owner_of(fee.owner_id) == self._owner_of(order.owner_id)
            assert fee.amount_cents == order.service_fee_cents > 0
            assert -order.payment_entry.amount_cents >= order.amount_cents
        assert len({fee.description for fee in service_fees}) == service_fees.count()

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
    def a_library_fee_charges_what_the_library_system_last_said(self):
        for patron in self.patrons:
            groups = fees_selectors.fee_groups(patron.pk)
            for fee in self._library_fees(patron):
                assert groups[fee.pk].charged_cents == self.said[fee.pk], fee.external_id

    @invariant()
    def no_fee_asks_for_more_than_the_library_system_charges(self):
        for patron in self.patrons:
            unpaid = fees_selectors.unpaid_cents(patron.pk)
            assert all(cents >= 0 for cents in unpaid.values())
            for group in fees_selectors.fee_groups(patron.pk).values():
                assert fees_selectors.fee_unpaid_cents(group, unpaid) <= max(0, group.charged_cents)

    @invariant()
    def what_is_owed_for_a_fee_is_its_charge_less_what_paid_it(self):
        """Owed = charged less what paid it: payments as the library system was told, less
        reversals re-opening it, and waivers and other credit the settlement gave it
        (credit notes, credit carried forward, the part of a payment that was credit).
        Checked for the fees no chargeback touched and no correction set below what was
        paid of them: a reversal re-opens a fee by what is paid of it when the bank takes
        the money back, and money paid beyond a correction became credit, which the rows
        alone do not tell (the invariants above and below cover those fees)."""
        for patron in self.patrons:
            groups = fees_selectors.fee_groups(patron.pk)
            unpaid = fees_selectors.unpaid_cents(patron.pk)
            reversals = set(
                JournalEntry.objects.filter(patron=patron, kind=EntryKind.REVERSAL).values_list(
                    "pk", flat=True
                )
            )
            for group in groups.values():
                if reversals & set(group.debit_ids) or group.fee_id in self.credited:
                    continue
                expected = max(0, group.charged_cents - paid_for_fee(group))
                assert fees_selectors.fee_unpaid_cents(group, unpaid) == expected, group

    @invariant()
    def what_the_fees_ask_for_adds_up_to_the_balance(self):
        """Every debit's remainder, fee by fee (below zero where paid beyond), is the
        balance plus the credit not given to a debit yet (credit carried forward, and
        credit notes and the credit parts of payments not settled yet), less what of
        refunds no credit has met yet."""
        for patron in self.patrons:
            unsettled = JournalEntry.objects.filter(patron=patron, settled_in__isnull=True)
            waiting_notes = -(
                unsettled.filter(kind=EntryKind.CREDIT_NOTE).aggregate(t=Sum("amount_cents"))["t"]
                or 0
            )
            waiting_credit = (
                PaymentShare.objects.filter(
                    movement__in=unsettled.filter(kind=EntryKind.PAYMENT), fee__isnull=True
                ).aggregate(t=Sum("amount_cents"))["t"]
                or 0
            )
            refunds = JournalEntry.objects.filter(patron=patron, kind=EntryKind.REFUND)
            refunds_open = (refunds.aggregate(t=Sum("amount_cents"))["t"] or 0) - (
                Allocation.objects.filter(debit__in=refunds).aggregate(t=Sum("amount_cents"))["t"]
                or 0
            )
            carried = fees_selectors.patron_credit_cents(patron=patron)
            remainders = sum(fees_selectors.fee_remainders(patron.pk)[1].values())
            balance = fees_selectors.balance_cents(patron=patron)
            credit_waiting = carried + waiting_notes + waiting_credit
            assert remainders == balance + credit_waiting - refunds_open

    @invariant()
    def refunds_and_reversals_of_a_payment_never_exceed_it(self):
        for report in MoneyReport.objects.filter(entry__isnull=False, order__isnull=False):
            reversed_ = (
                JournalEntry.objects.filter(
                    kind=EntryKind.REVERSAL, target_id=report.entry_id
                ).aggregate(total=Sum("amount_cents"))["total"]
                or 0
            )
            refunded = (
                Refund.objects.filter(
                    order_id=report.order_id, status__in=REFUND_RESERVING_STATUSES
                ).aggregate(total=Sum("amount_cents"))["total"]
                or 0
            )
            paid = MoneyReport.objects.filter(
                order_id=report.order_id, entry__isnull=False
            ).aggregate(total=Sum("amount_cents"))["total"]
            assert reversed_ + refunded <= paid, report.order_id

    @invariant()
    def a_settled_payment_is_offset_as_the_library_system_was_told(self):
        settled = PaymentShare.objects.filter(
            movement__kind=EntryKind.PAYMENT, movement__settled_in__isnull=False,
            fee__isnull=False,
        ).values_list("movement_id", "fee_id", "amount_cents")  # fmt: skip
        told = defaultdict(int)
        for payment_id, fee_id, cents in settled:
            told[payment_id, fee_id] += cents
        allocated = {
            (credit, debit): total
            for credit, debit, total in Allocation.objects.filter(credit__kind=EntryKind.PAYMENT)
            .values("credit_id", "debit_id")
            .annotate(total=Sum("amount_cents"))
            .values_list("credit_id", "debit_id", "total")
        }
        for key, cents in told.items():
            assert allocated.get(key, 0) == cents, key

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


def paid_for_fee(group) -> int:
    """What paid the fee and was not taken back, from the rows: the shares of payments in
    it (as the library system was told), less the reversals re-opening it, plus waivers
    of it and what other credit the settlement gave its debits (credit notes, credit
    carried forward, the part of a payment that was credit)."""
    debits = list(group.debit_ids)
    shares = dict(
        ((payment, fee), cents)
        for payment, fee, cents in PaymentShare.objects.filter(
            fee_id__in=debits, movement__kind=EntryKind.PAYMENT
        ).values_list("movement_id", "fee_id", "amount_cents")
    )
    reopened = (
        PaymentShare.objects.filter(
            fee_id=group.fee_id, movement__kind=EntryKind.REVERSAL
        ).aggregate(total=Sum("amount_cents"))["total"]
        or 0
    )
    waived = -(
        JournalEntry.objects.filter(kind=EntryKind.WAIVER, target_id__in=debits).aggregate(
            total=Sum("amount_cents")
        )["total"]
        or 0
    )
    other = 0
    for credit_id, kind, target_id, debit_id, cents in Allocation.objects.filter(
        debit_id__in=debits
    ).values_list("credit_id", "credit__kind", "credit__target_id", "debit_id", "amount_cents"):
        if kind in (EntryKind.WAIVER, EntryKind.REDUCTION) and target_id in debits:
            continue  # a waiver of the fee is counted whole; its reduction lowers the charge
        other += cents - min(cents, shares.get((credit_id, debit_id), 0))
    return sum(shares.values()) - reopened + waived + other


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
