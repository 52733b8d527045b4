import datetime

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from payments.models import OPEN_STATUSES, PaymentOrder, Refund, RefundStatus
from payments.providers.base import ProviderError
from payments.services import order_expire_if_stale, order_refresh, refund_ask_again


class Command(BaseCommand):
    help = (
        "Ask the payment provider about orders still Created/CreatedAtProvider, and refunds "
        "still waiting for its answer, after some minutes; record what it says, and list "
        "what stays unresolved. Safe to run from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--after-minutes",
            type=int,
            default=settings.RECONCILE_AFTER_MINUTES,
            help="Only orders older than this (default: RECONCILE_AFTER_MINUTES).",
        )

    def handle(self, *args, after_minutes, **options):
        cutoff = timezone.now() - datetime.timedelta(minutes=after_minutes)
        stale = PaymentOrder.objects.filter(status__in=OPEN_STATUSES, created_at__lt=cutoff)
        checked, unresolved = 0, []
        for order in stale.order_by("created_at").iterator():
            checked += 1
            try:
                order = order_refresh(order=order)
            except ProviderError as error:
                unresolved.append((order, f"provider not reachable: {error}"))
                continue
            if order.is_open and not order_expire_if_stale(order=order):
                unresolved.append((order, "still open at the provider"))
        self.stdout.write(
            f"Checked {checked} open orders older than {after_minutes} minutes: "
            f"{checked - len(unresolved)} resolved, {len(unresolved)} unresolved."
        )
        for order, reason in unresolved:
            self.stdout.write(
                f"  {order.reference}  {order.status}  created {order.created_at:%Y-%m-%d %H:%M}"
                f"  {order.provider}  {reason}"
            )
        self._refunds(cutoff, after_minutes)

    def _refunds(self, cutoff, after_minutes):
        waiting = Refund.objects.filter(status=RefundStatus.REQUESTED, created_at__lt=cutoff)
        checked, unresolved = 0, []
        for refund in waiting.select_related("order").order_by("created_at").iterator():
            checked += 1
            try:
                refund = refund_ask_again(refund=refund)
            except ProviderError as error:
                unresolved.append((refund, f"provider not reachable: {error}"))
                continue
            if refund.is_waiting:
                unresolved.append((refund, "not confirmed by the provider yet"))
        self.stdout.write(
            f"Checked {checked} refunds waiting longer than {after_minutes} minutes: "
            f"{checked - len(unresolved)} settled, {len(unresolved)} still waiting."
        )
        for refund, reason in unresolved:
            self.stdout.write(
                f"  {refund.reference}  {refund.order.reference}  requested "
                f"{refund.created_at:%Y-%m-%d %H:%M}  {refund.order.provider}  {reason}"
            )
