"""A stateful property test of the money path through the real Stripe and PayPal code,
each talking to its fake over HTTP: two owners (one at Stripe, one at PayPal), orders
started, paid at the provider, news of them arriving as webhooks (once, twice, late, out
of order) or as the patron's return, PayPal captures pending then completed or declined,
chargebacks and partial staff refunds. After every step the portal's books agree with what
each fake says happened.

CI runs PROVIDER_MACHINE_STEPS=1000 steps (the default); raise it to look harder (2,000 steps
take about 45 s on PostgreSQL).
"""

import os
from contextlib import suppress

import hypothesis.strategies as st
import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as run_settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from fees import selectors as fees_selectors
from fees import services as ledger
from fees.models import EntryKind, JournalEntry
from payments import services
from payments.models import MoneyReport, OrderFee, PaymentOrder, Refund
from payments.selectors import account_overview
from payments.services import refunds
from tests.factories import DeskStaffFactory, OwnerFactory, PatronFactory
from tests.payments import fake_stripe as stripe_fake
from tests.payments import helpers as stripe_helpers
from tests.payments.fake_paypal import paypal_id
from tests.payments.paypal import helpers as paypal_helpers
from tests.payments.paypal import signing as paypal_signing

pytestmark = pytest.mark.postgres_only

STEPS_PER_RUN = 20
TOTAL_STEPS = int(os.environ.get("PROVIDER_MACHINE_STEPS", "1000"))
STRIPE, PAYPAL = "STRIPE-LIB", "PAYPAL-LIB"
# A capture that took the money, whatever was refunded of it since.
PAYPAL_CAPTURED = ("COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED")
PAYPAL_CAPTURE_EVENTS = {
    "COMPLETED": "PAYMENT.CAPTURE.COMPLETED",
    "PENDING": "PAYMENT.CAPTURE.PENDING",
    "DECLINED": "PAYMENT.CAPTURE.DENIED",
}

amounts = st.integers(min_value=1, max_value=3000)
picks = st.integers(min_value=0, max_value=10_000)  # an index into whatever list is at hand
capture_outcomes = st.sampled_from(["COMPLETED", "COMPLETED", "PENDING", "DECLINED"])


class ProviderMachine(RuleBasedStateMachine):
    # Both fakes run for the whole test (set by the test): their state outlives each run's
    # rolled-back database, so everything here looks them up by the ids of this run's orders.
    stripe = None
    paypal = None

    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.client = Client()
        self.owners = {
            STRIPE: OwnerFactory(code=STRIPE, provider="stripe"),
            PAYPAL: OwnerFactory(code=PAYPAL, provider="paypal"),
        }
        self.patrons = [PatronFactory(), PatronFactory()]
        for patron in self.patrons:
            for amount, owner in ((500, STRIPE), (1200, PAYPAL), (300, STRIPE), (800, PAYPAL)):
                ledger.fee_book(patron=patron, amount_cents=amount, description="Fine", owner=owner)
        self.staff = DeskStaffFactory()
        # Orders whose money appeared at the provider since the portal last heard of them:
        # until news arrives the portal cannot know of it.
        self.unheard: set[int] = set()
        # Every webhook delivered, by order, to deliver again late.
        self.delivered: dict[int, list[tuple[str, dict]]] = {}

    @initialize(stripe_paid=st.booleans(), paypal_approved=st.booleans())
    def orders_of_both_owners(self, stripe_paid, paypal_approved):
        """Each run starts with an order started at each provider (perhaps paid or approved
        there already), so that its few steps mostly reach payments, chargebacks and
        refunds."""
        for owner in self.owners.values():
            fees = JournalEntry.objects.filter(owner=owner, kind=EntryKind.FEE)
            fee = fees.order_by("pk").first()
            order = services.order_create(patron=fee.patron, fee_ids=[fee.pk])
            services.order_start(order=order, return_url="https://p/r", cancel_url="https://p/c")
            order.refresh_from_db()
            if order.provider == "stripe" and stripe_paid:
                self.stripe.complete(order.provider_transaction_id)
                self.unheard.add(order.pk)
            if order.provider == "paypal" and paypal_approved:
                self.paypal.approve(order.provider_transaction_id)

    def teardown(self):
        if os.environ.get("PROVIDER_MACHINE_DEBUG"):
            print(
                "orders", sorted(PaymentOrder.objects.values_list("provider", "status")),
                "refunds", Refund.objects.filter(entry__isnull=False).count(),
                "reversals", JournalEntry.objects.filter(kind=EntryKind.REVERSAL).count(),
                "at paypal", [(self._paypal_order(o)["status"], self._capture_status(o))
                              for o in PaymentOrder.objects.filter(provider="paypal")],
            )  # fmt: skip
        self.paypal.capture_outcome = "COMPLETED"
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # --- helpers ------------------------------------------------------------------------

    def _patron(self, pick):
        return self.patrons[pick % len(self.patrons)]

    def _order(self, pick, provider=None, where=None):
        """One of this run's started orders (of `provider`), among those `where` says
        something can happen to: a step then mostly does something."""
        orders = PaymentOrder.objects.exclude(provider_transaction_id=None).order_by("pk")
        if provider:
            orders = orders.filter(provider=provider)
        orders = [order for order in orders if where is None or where(order)]
        return orders[pick % len(orders)] if orders else None

    def _session(self, order) -> dict:
        return self.stripe.sessions[order.provider_transaction_id]

    def _paypal_order(self, order) -> dict:
        return self.paypal.orders[order.provider_transaction_id]

    def _paypal_capture(self, order) -> dict | None:
        unit = self._paypal_order(order)["purchase_units"][0]
        captures = unit.get("payments", {}).get("captures", [])
        return captures[0] if captures else None

    def _capture_status(self, order) -> str:
        capture = self._paypal_capture(order)
        return capture["status"] if capture else ""

    def _deliver(self, order, provider, payload, twice=False):
        self.delivered.setdefault(order.pk, []).append((provider, payload))
        for _time in range(2 if twice else 1):
            if provider == "stripe":
                response = stripe_helpers.deliver(self.client, payload)
            else:
                response = paypal_helpers.deliver(self.client, self.paypal, payload)
            assert response.status_code == 200, response.content

    def captured_cents(self, order) -> int:
        """What the order's provider says it took for the order."""
        if not order.provider_transaction_id:
            return 0
        if order.provider == "stripe":
            session = self._session(order)
            paid = session["status"] == "complete" and session["payment_status"] == "paid"
            return session["amount_total"] if paid else 0
        capture = self._paypal_capture(order)
        if capture is None or capture["status"] not in PAYPAL_CAPTURED:
            return 0
        return cents(capture["amount"]["value"])

    def refunded_cents(self, order) -> int:
        """What the order's provider says it gave back of the order's payment."""
        if order.provider == "stripe":
            if not order.provider_payment_id:
                return 0
            return sum(
                r["amount"]
                for r in self.stripe.refunds_of(order.provider_payment_id)
                if r["status"] == "succeeded"
            )
        capture = self._paypal_capture(order) if order.provider_transaction_id else None
        if capture is None:
            return 0
        return sum(
            cents(r["amount"]["value"])
            for r in self.paypal.refunds.values()
            if r["_capture"] == capture["id"] and r["status"] == "COMPLETED"
        )

    @staticmethod
    def booked_cents(order) -> int:
        return -order.payment_entry.amount_cents if order.payment_entry_id else 0

    # --- the patron ----------------------------------------------------------------------

    @rule(patron=picks, owner=st.sampled_from([STRIPE, PAYPAL]), amount=amounts)
    def fee(self, patron, owner, amount):
        """The library system books another fee, so that there is always something to pay."""
        ledger.fee_book(
            patron=self._patron(patron), amount_cents=amount, description="Fine", owner=owner
        )

    @rule(
        patron=picks,
        owner=st.sampled_from([STRIPE, PAYPAL]),
        subset=st.lists(picks, min_size=1, max_size=3),
        mixed=st.integers(min_value=0, max_value=9),
    )
    def order(self, patron, owner, subset, mixed):
        """An order for some open fees of one owner; now and then of both (refused)."""
        patron = self._patron(patron)
        overview = account_overview(patron=patron, on_date=timezone.localdate())
        selectable = [line.fee for line in overview.lines if line.selectable]
        fees = [fee for fee in selectable if fee.owner_id == self.owners[owner].pk]
        if not fees:
            return
        chosen = {fees[i % len(fees)].pk for i in subset}
        if mixed == 0:
            chosen |= {fee.pk for fee in selectable}
        try:
            order = services.order_create(patron=patron, fee_ids=chosen)
        except (ValidationError, services.UnknownFee):
            return
        services.order_start(order=order, return_url="https://p/r", cancel_url="https://p/c")

    @rule(order=picks)
    def pay_at_stripe(self, order):
        """The patron pays on Stripe's page (again, for one paid already: nothing new)."""
        order = self._order(order, "stripe", lambda o: self._session(o)["status"] == "open")
        if order is None:
            return
        self.stripe.complete(order.provider_transaction_id)
        self.unheard.add(order.pk)

    @rule(order=picks)
    def approve_at_paypal(self, order):
        """The patron approves at PayPal: no money moves until the portal captures."""
        order = self._order(order, "paypal", lambda o: self._paypal_order(o)["status"] == "CREATED")
        if order is not None:
            self.paypal.approve(order.provider_transaction_id)

    # --- news ----------------------------------------------------------------------------

    @rule(order=picks, outcome=capture_outcomes)
    def patron_returns(self, order, outcome):
        """The patron comes back to the order page (or reconcile asks): the portal asks the
        provider, and captures an approved PayPal order with the outcome given."""
        order = self._order(order, where=lambda o: o.is_open)
        if order is None:
            return
        self.paypal.capture_outcome = outcome
        try:
            services.order_refresh(order=order)
        finally:
            self.paypal.capture_outcome = "COMPLETED"
        self.unheard.discard(order.pk)

    @rule(order=picks, twice=st.booleans())
    def stripe_webhook(self, order, twice):
        """Stripe says the session completed, once or twice (the same event)."""
        order = self._order(order, "stripe", lambda o: self._session(o)["status"] == "complete")
        if order is None:
            return
        session = {k: v for k, v in self._session(order).items() if not k.startswith("_")}
        payload = stripe_fake.event("checkout.session.completed", session)
        self._deliver(order, "stripe", payload, twice)
        self.unheard.discard(order.pk)

    @rule(order=picks, twice=st.booleans(), outcome=capture_outcomes)
    def paypal_webhook(self, order, twice, outcome):
        """PayPal tells what it last did with the order: approved (the portal captures,
        with the outcome given), or the capture's status, once or twice."""
        order = self._order(order, "paypal", lambda o: self._paypal_order(o)["status"] != "CREATED")
        if order is None:
            return
        paypal_order = self._paypal_order(order)
        capture = self._paypal_capture(order)
        if paypal_order["status"] == "APPROVED":
            resource = {k: v for k, v in paypal_order.items() if not k.startswith("_")}
            payload = paypal_signing.event(
                "CHECKOUT.ORDER.APPROVED", resource, resource_type="checkout-order"
            )
        elif capture is not None and capture["status"] in PAYPAL_CAPTURE_EVENTS:
            payload = paypal_signing.event(PAYPAL_CAPTURE_EVENTS[capture["status"]], dict(capture))
        else:
            return
        self.paypal.capture_outcome = outcome
        try:
            self._deliver(order, "paypal", payload, twice)
        finally:
            self.paypal.capture_outcome = "COMPLETED"
        self.unheard.discard(order.pk)

    @rule(order=picks, which=picks)
    def late_webhook(self, order, which):
        """A webhook delivered before is delivered again, after whatever happened since."""
        order = self._order(order, where=lambda o: o.pk in self.delivered)
        if order is None:
            return
        history = self.delivered[order.pk]
        provider, payload = history[which % len(history)]
        self._deliver(order, provider, payload)

    @rule(order=picks, completed=st.booleans())
    def paypal_capture_settles(self, order, completed):
        """A pending PayPal capture completes (the money arrives) or is declined."""
        order = self._order(order, "paypal", lambda o: self._capture_status(o) == "PENDING")
        if order is None:
            return
        capture = self._paypal_capture(order)
        self.paypal.set_capture_status(capture["id"], "COMPLETED" if completed else "DECLINED")
        if completed:
            self.unheard.add(order.pk)

    @rule(order=picks, part=st.integers(min_value=1, max_value=4))
    def chargeback(self, order, part):
        """The patron's bank takes back all of a payment, or part of it."""
        order = self._order(order, where=lambda o: o.payment_entry_id and o.provider_payment_id)
        if order is None:
            return
        cents_back = max(1, self.booked_cents(order) * part // 4)
        if order.provider == "stripe":
            payload = stripe_fake.event(
                "charge.dispute.created",
                stripe_fake.dispute(order.provider_payment_id, amount=cents_back),
            )
        else:
            dispute = {
                "dispute_id": f"PP-D-{paypal_id(8)}",
                "create_time": "2026-12-04T10:00:00.000Z",
                "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
                "status": "OPEN",
                "dispute_amount": {"currency_code": "EUR", "value": f"{cents_back / 100:.2f}"},
                "disputed_transactions": [{"seller_transaction_id": order.provider_payment_id}],
            }
            payload = paypal_signing.event(
                "CUSTOMER.DISPUTE.CREATED", dispute, resource_type="dispute"
            )
        self._deliver(order, order.provider, payload)

    # --- staff ---------------------------------------------------------------------------

    @rule(order=picks, amount=amounts)
    def refund(self, order, amount):
        """Staff refund part of an order's payment to the patron's card or PayPal."""
        order = self._order(order, where=lambda o: o.payment_entry_id)
        if order is None:
            return
        with suppress(ValidationError):  # refused: not paid, more than is left, ...
            refunds.refund_request(
                order=order, amount_cents=amount, source=Refund.Source.PAYMENT,
                reason="found", staff_user=self.staff,
            )  # fmt: skip

    # --- what must always hold -----------------------------------------------------------

    @invariant()
    def an_order_is_booked_once_for_what_its_provider_took(self):
        for order in PaymentOrder.objects.select_related("payment_entry"):
            payments = MoneyReport.objects.filter(order=order, entry__kind=EntryKind.PAYMENT)
            assert payments.count() <= (1 if order.payment_entry_id else 0), order.reference
            captured, booked = self.captured_cents(order), self.booked_cents(order)
            if order.pk in self.unheard:
                assert booked in (0, captured), (order.reference, booked, captured)
            else:
                assert booked == captured, (order.reference, order.status, booked, captured)

    @invariant()
    def each_owner_received_what_its_provider_took(self):
        for owner in self.owners.values():
            payments = JournalEntry.objects.filter(kind=EntryKind.PAYMENT, owner=owner)
            received = -sum(payments.values_list("amount_cents", flat=True))
            orders = PaymentOrder.objects.filter(owner=owner).select_related("payment_entry")
            taken = sum(
                self.booked_cents(order) if order.pk in self.unheard else self.captured_cents(order)
                for order in orders
            )
            assert received == taken, (owner.code, received, taken)

    @invariant()
    def refunds_booked_are_what_the_provider_gave_back(self):
        for order in PaymentOrder.objects.select_related("payment_entry"):
            booked = sum(
                Refund.objects.filter(order=order, entry__isnull=False).values_list(
                    "amount_cents", flat=True
                )
            )
            assert booked <= self.booked_cents(order), order.reference
            assert booked == self.refunded_cents(order), (order.reference, booked)

    @invariant()
    def an_order_holds_one_owners_fees_and_uses_its_provider(self):
        providers = {owner.pk: owner.provider for owner in self.owners.values()}
        for order in PaymentOrder.objects.all():
            assert order.provider == providers[order.owner_id], order.reference
        for line in OrderFee.objects.filter(fee__kind=EntryKind.FEE).select_related("order", "fee"):
            assert line.fee.owner_id == line.order.owner_id, line.order.reference

    @invariant()
    def balance_is_the_sum_of_the_entries(self):
        for patron in self.patrons:
            amounts = JournalEntry.objects.filter(patron=patron).values_list("amount_cents")
            assert fees_selectors.balance_cents(patron=patron) == sum(a for (a,) in amounts)


def cents(value: str) -> int:
    whole, _, fraction = value.partition(".")
    return int(whole) * 100 + int((fraction + "00")[:2])


@pytest.fixture
def fake_stripe(settings):
    """The fake Stripe (its settings are STRIPE_* only, so PayPal's fake beside it keeps
    its own)."""
    with stripe_helpers.stripe_faked(settings) as fake:
        yield fake


def test_both_providers_money_agrees_with_the_books_whatever_happens(db, fake_stripe, settings):
    # Owners name their provider, so PAYMENT_PROVIDER (which paypal_faked sets) is unused.
    with paypal_helpers.paypal_faked(settings) as fake_paypal:

        class Machine(ProviderMachine):
            stripe = fake_stripe
            paypal = fake_paypal

        run_state_machine_as_test(
            Machine,
            settings=run_settings(
                max_examples=max(1, TOTAL_STEPS // STEPS_PER_RUN),
                stateful_step_count=STEPS_PER_RUN,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                print_blob=True,
            ),
        )
