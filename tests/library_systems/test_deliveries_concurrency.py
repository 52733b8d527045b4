"""Several workers at once against one library system (PostgreSQL)."""

import pytest

from fees import services as ledger
from fees.models import Delivery
from payments.library_systems.deliveries import deliveries_send_due
from payments.library_systems.webhook import WebhookTarget
from tests.factories import PatronFactory
from tests.library_systems.receiver import SECRET, Receiver
from tests.threads import run_in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


class SlowReceiver(Receiver):
    """Counts deliveries of the same key in flight at the same moment."""

    def __init__(self):
        super().__init__()
        self.in_flight: dict[str, int] = {}
        self.overlaps = 0

    def _handle(self, handler):
        key = handler.headers["Idempotency-Key"]
        with self.lock:
            self.in_flight[key] = self.in_flight.get(key, 0) + 1
            self.overlaps += self.in_flight[key] > 1
        try:
            self.hang_seconds = 0.02
            super()._handle(handler)
        finally:
            with self.lock:
                self.in_flight[key] -= 1


def test_two_workers_at_once_send_each_delivery_once():
    patron = PatronFactory()
    for _ in range(30):
        ledger.payment_book(patron=patron, amount_cents=100, method="cash")
    receiver = SlowReceiver()

    def worker(_):
        return deliveries_send_due(target=WebhookTarget(url=receiver.url, secret=SECRET,
                                                        timeout=5))  # fmt: skip

    try:
        counts = run_in_threads(2, worker)
    finally:
        receiver.stop()

    assert receiver.overlaps == 0
    assert len(receiver.received) == 30 == len(receiver.by_key)
    assert all(count[Delivery.Status.DELIVERED] > 0 for count in counts)  # both worked
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.DELIVERED}
