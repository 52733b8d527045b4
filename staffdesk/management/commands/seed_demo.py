"""Demo data covering each case of the specification. Safe to run again."""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import Patron
from accounts.services import patron_create
from fees import services
from fees.models import EntryKind, FeeType, JournalEntry, Loan, Owner
from fees.settlement import SettlementError, settlement_run
from payments.models import (
    EventSource,
    OrderStatus,
    PaymentEvent,
    PaymentOrder,
    Refund,
    SimulatedCheckout,
)
from payments.providers import order_provider
from payments.providers.simulated import SIGNATURE_HEADER
from payments.services import (
    order_abandon,
    order_create,
    order_start,
    payment_order_transition,
    refund_record,
    refund_send,
    webhook_receive,
)
from staffdesk.actions import perform
from staffdesk.models import DeskScope, StaffAction

PATRON_PASSWORD = "demo-patron"
STAFF_PASSWORD = "demo-staff"
ADMIN_PASSWORD = "demo-admin"

PATRONS = [
    # card number, user number, last name, first name, what the demo shows
    ("1000000001", "U-1001", "Berger", "Anna", "open fees only"),
    ("1000000002", "U-1002", "Schulz", "Jonas", "paid part at the desk today, not yet settled"),
    ("1000000003", "U-1003", "Keller", "Mia", "credit left over from an earlier payment"),
    ("1000000004", "U-1004", "Wagner", "Paul", "overdue loans with accruing fines"),
    ("1000000005", "U-1005", "Fischer", "Lena", "nothing owed"),
    ("1000000006", "U-1006", "Weber", "Tom", "online payments in every state, for the desk"),
    # (Tom's orders: Paid, Paid after a cancel, Failed, given up, Underpaid, Chargeback,
    # Cancelled by the library, and one open for ten days.)
]


class Command(BaseCommand):
    help = "Create demo patrons, fees, loans and desk staff, and print their logins."

    def handle(self, *args, **options):
        created = self._create_everything()
        self.stdout.write("" if created else "Demo data was already there.")
        self.stdout.write(
            self.style.MIGRATE_HEADING("Demo logins (portal: card number + password)")
        )
        for card, _user_number, last, first, case in PATRONS:
            self.stdout.write(f"  {card} / {PATRON_PASSWORD}  {first} {last}: {case}")
        self.stdout.write(self.style.MIGRATE_HEADING("Staff (user name + password)"))
        self.stdout.write(
            f"  desk1 / {STAFF_PASSWORD}  desk staff who may refund to the card; "
            f"desk2 / {STAFF_PASSWORD}  desk staff; "
            f"desk3 / {STAFF_PASSWORD}  desk staff of the North Branch only"
        )
        self.stdout.write(f"  admin / {ADMIN_PASSWORD}  administrator (/admin/)")
        if settings.HANDOFF_SECRET:
            self.stdout.write(self.style.MIGRATE_HEADING("The catalogue's Pay fees link"))
            self.stdout.write(
                f"  python manage.py handoff_link {PATRONS[0][0]}  prints a link that signs "
                "the patron in once, for a few minutes (HANDOFF_PATRON_MATCH=card_number)"
            )

    @transaction.atomic
    def _create_everything(self) -> bool:
        if Patron.objects.filter(user_number=PATRONS[0][1]).exists():
            return False
        patrons = {
            user_number: patron_create(
                user_number=user_number,
                card_number=card,
                last_name=last,
                first_name=first,
                # Tom's orders are paid while seeding: no e-mail, so no receipt is printed.
                email=""
                if user_number == "U-1006"
                else f"{first.lower()}.{last.lower()}@example.org",
                password=PATRON_PASSWORD,
            )
            for card, user_number, last, first, _ in PATRONS
        }
        self._create_staff()

        today = timezone.localdate()
        last_month = today - datetime.timedelta(days=30)
        # History: booked on earlier days and settled, as a running library would have.
        anna, jonas, mia, paul, lena, tom = (patrons[p[1]] for p in PATRONS)
        self._past_fee(anna, last_month, 250, FeeType.OVERDUE, "Säumnisgebühr", "Der Hobbit")
        self._past_fee(
            anna,
            last_month,
            2500,
            FeeType.LOST_ITEM,
            "Ersatz für verlorenes Medium",
            "Atlas Europa",
        )
        self._past_fee(anna, last_month, 150, FeeType.REMINDER, "Zweite Mahnung")
        # A second owner, a branch with its own rules and its own (simulated) merchant, which
        # adds a service fee to each online payment: Anna owes it too, and pays it apart.
        north = Owner.objects.create(
            code="BR-NORD", name_en="North Branch", name_de="Zweigstelle Nord",
            online_minimum_cents=200, service_fee_cents=50,
            receipt_footer="Zweigstelle Nord · Nordstraße 1",
        )  # fmt: skip
        branch_desk = get_user_model().objects.create_user(
            username="desk3", password=STAFF_PASSWORD, first_name="Ole", last_name="Nord"
        )
        branch_desk.groups.add(Group.objects.get(name="Desk staff"))
        DeskScope.objects.create(user=branch_desk).owners.add(north)
        self._past_fee(
            anna, last_month, 400, FeeType.OVERDUE, "Säumnisgebühr", "Die Welle", owner=north
        )
        self._past_fee(jonas, last_month, 500, FeeType.OVERDUE, "Säumnisgebühr", "Dune")
        self._past_fee(jonas, last_month, 1200, FeeType.LOST_ITEM, "Beschädigter Einband", "Momo")
        self._past_fee(jonas, last_month, 300, FeeType.RESERVATION, "Vormerkgebühr")
        self._past_fee(mia, last_month, 1500, FeeType.MEMBERSHIP, "Jahresbeitrag")
        self._past_entry(mia, last_month, EntryKind.PAYMENT, -2000, method="cash")
        self._past_fee(lena, last_month, 400, FeeType.OVERDUE, "Säumnisgebühr", "Emil")
        self._past_entry(lena, last_month, EntryKind.PAYMENT, -400, method="card")
        tom_fees = [
            self._past_fee(tom, last_month, cents, FeeType.OVERDUE, "Säumnisgebühr", item)
            for cents, item in (
                (350, "Krabat"),
                (900, "Tschick"),
                (450, "Emil"),
                (600, "Heidi"),
                (800, "Momo"),
                (500, "Pünktchen und Anton"),
                (300, "Jim Knopf"),
                (250, "Das doppelte Lottchen"),
            )
        ]
        try:
            settlement_run(business_date=today - datetime.timedelta(days=1))
        except SettlementError as error:
            self.stderr.write(f"History left unsettled: {error}")

        # Today: Jonas paid the 12.00 fee at the counter; the settlement has not run yet.
        desk = get_user_model().objects.get(username="desk1")
        services.payment_book(
            patron=jonas,
            amount_cents=1200,
            method="cash",
            booked_by=desk,
            note="An der Theke bezahlt",
        )
        services.fee_book(
            patron=paul, amount_cents=200, fee_type=FeeType.REMINDER, description="Erste Mahnung"
        )
        for item, days_overdue in (("Die unendliche Geschichte", 12), ("Faust I", 40)):
            Loan.objects.create(
                patron=paul,
                item=item,
                due_date=today - datetime.timedelta(days=days_overdue),
                daily_fine_cents=50,
                fine_cap_cents=1000,
                currency=settings.LIBRARY_CURRENCY,
            )
        self._create_orders(tom, tom_fees, desk)
        # Tom paid the branch online today: its merchant took the fee and the service fee.
        branch_fee = services.fee_book(
            patron=tom, amount_cents=300, fee_type=FeeType.OVERDUE, description="Säumnisgebühr",
            item="Krabat", owner=north.code,
        )  # fmt: skip
        self._pay_on_the_simulated_page(self._order(tom, branch_fee))
        return True

    def _create_orders(self, patron, fees, desk):
        """Orders in every state the desk can act on: paid (0.70 of it refunded to the card),
        paid after a cancel, failed,
        given up by the patron, underpaid, charged back and cancelled today, and one left
        open ten days ago (old enough to complete and book). Each order's dates, events and
        journal entries tell the same story: what happened today happened now, and the old
        order was written as it was ten days ago."""
        paid, late, failed, stuck, charged_back, underpaid, cancelled, given_up = (
            self._order(patron, fee) for fee in fees
        )
        self._pay_on_the_simulated_page(paid)  # the provider then holds the money to refund
        refund_send(
            refund=refund_record(
                order=paid, amount_cents=70, source=Refund.Source.PAYMENT,
                reason="Säumnisgebühr um einen Tag zu hoch berechnet", staff_user=desk,
            )
        )  # fmt: skip
        perform(
            StaffAction.Kind.CANCEL_ORDER, late, staff_user=desk,
            reason="Leser rief an: versehentlich gestartet",
        )  # fmt: skip
        payment_order_transition(order=late, status="Paid", source=EventSource.PROVIDER)
        payment_order_transition(order=failed, status="Failed", source=EventSource.PROVIDER)
        order_abandon(order=given_up, patron=patron)
        payment_order_transition(order=charged_back, status="Paid", source=EventSource.PROVIDER)
        payment_order_transition(
            order=charged_back, status=OrderStatus.CHARGEBACK, source=EventSource.PROVIDER
        )
        payment_order_transition(
            order=underpaid, status="Paid", source=EventSource.PROVIDER, amount_cents=200
        )
        perform(
            StaffAction.Kind.CANCEL_ORDER, cancelled, staff_user=desk,
            reason="Gebühr wird an der Theke beglichen",
        )  # fmt: skip
        # Nothing was booked for it, so moving its story back ten days touches no journal row.
        shift = datetime.timedelta(days=10)
        PaymentOrder.objects.filter(pk=stuck.pk).update(
            created_at=F("created_at") - shift, updated_at=F("updated_at") - shift
        )
        PaymentEvent.objects.filter(order=stuck).update(at=F("at") - shift)
        SimulatedCheckout.objects.filter(order_reference=stuck.reference).update(
            created_at=F("created_at") - shift
        )

    def _pay_on_the_simulated_page(self, order):
        order.refresh_from_db()
        provider = order_provider(order)
        checkout = provider.checkouts().get(transaction_id=order.provider_transaction_id)
        for body in provider.act(checkout, "pay"):
            webhook_receive(
                provider_name=provider.name,
                body=body,
                headers={SIGNATURE_HEADER: provider.sign(body)},
            )

    def _order(self, patron, fee):
        order = order_create(patron=patron, fee_ids=[fee.pk])
        url = reverse("payments:order", args=[order.reference])
        order_start(order=order, return_url=url, cancel_url=url)
        return order

    def _past_entry(self, patron, date, kind, amount_cents, **fields):
        booked_at = timezone.make_aware(datetime.datetime.combine(date, datetime.time(11, 0)))
        return JournalEntry.objects.create(
            patron=patron,
            kind=kind,
            amount_cents=amount_cents,
            currency=settings.LIBRARY_CURRENCY,
            booked_at=booked_at,
            business_date=date,
            **fields,
        )

    def _past_fee(self, patron, date, amount_cents, fee_type, description, item="", owner=None):
        return self._past_entry(
            patron,
            date,
            EntryKind.FEE,
            amount_cents,
            fee_type=fee_type,
            description=description,
            item=item,
            owner=owner or Owner.objects.default(),
        )

    def _create_staff(self):
        User = get_user_model()
        group = Group.objects.get(name="Desk staff")
        for username, first, last in (("desk1", "Sven", "Hoffmann"), ("desk2", "Ida", "Brandt")):
            user = User.objects.create_user(
                username=username, password=STAFF_PASSWORD, first_name=first, last_name=last
            )
            user.groups.add(group)
            if username == "desk1":  # desk2 shows the desk without it
                user.user_permissions.add(Permission.objects.get(codename="refund_to_card"))
        User.objects.create_superuser(username="admin", password=ADMIN_PASSWORD, email="")
