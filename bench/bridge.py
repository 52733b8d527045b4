#!/usr/bin/env python
"""Benchmark of the library-system bridge, on PostgreSQL.

    .venv/bin/python bench/bridge.py            # or: make bench-bridge
    .venv/bin/python bench/bridge.py --payments 200 --seconds 3   # smoke run

It DROPS and recreates the database epayment_bench_bridge, then measures:

1. one worker sending a backlog of payments to the generic signed webhook, received by a
   local receiver that checks every signature (deliveries per second);
2. the delay from booking to delivery with the worker in a loop (`deliver --loop` does
   the same) while payments are booked at a steady rate: median and 95th percentile;
3. the whole-set sync of 50 fees for a patron with 45 (10 new, 10 changed, 30 the
   same, 5 gone), and of the same set again (nothing changes): time and SQL queries.

Figures and method: bench/README.md.
"""

import argparse
import statistics
import threading
import time

from common import setup_django

setup_django("epayment_bench_bridge")

from common import recreate_database  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from fees import services as ledger  # noqa: E402
from fees.corrections import fees_sync  # noqa: E402
from fees.models import Delivery  # noqa: E402
from payments.library_systems.deliveries import deliveries_send_due  # noqa: E402
from payments.library_systems.webhook import WebhookTarget  # noqa: E402
from tests.factories import PatronFactory  # noqa: E402
from tests.library_systems.receiver import SECRET, Receiver  # noqa: E402


def backlog(payments: int, target) -> float:
    patrons = [PatronFactory(external_id=str(n)) for n in range(max(1, payments // 10))]
    for n in range(payments):
        ledger.payment_book(patron=patrons[n % len(patrons)], amount_cents=100, method="cash")
    started = time.perf_counter()
    outcomes = deliveries_send_due(target=target)
    elapsed = time.perf_counter() - started
    assert outcomes[Delivery.Status.DELIVERED] == payments, outcomes
    return payments / elapsed


def delay(seconds: float, rate: float, target) -> list[float]:
    patron = PatronFactory()
    stop = threading.Event()

    def worker():
        try:
            while not stop.is_set():
                if not deliveries_send_due(target=target):
                    time.sleep(0.05)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    ends = time.monotonic() + seconds
    booked = []
    while time.monotonic() < ends:
        booked.append(ledger.payment_book(patron=patron, amount_cents=100, method="cash").pk)
        time.sleep(1 / rate)
    deadline = time.monotonic() + 30
    while Delivery.objects.filter(entry__in=booked).exclude(status="delivered").exists():
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    stop.set()
    thread.join()
    rows = Delivery.objects.filter(entry__in=booked).values_list("delivered_at", "entry__booked_at")
    return sorted((d - b).total_seconds() * 1000 for d, b in rows if d)


def sync_figures():
    patron = PatronFactory()
    item = {"currency": "EUR", "description": "Overdue fine"}
    first = [{"fee_id": f"K-{n}", "amount_cents": 500} | item for n in range(45)]
    fees_sync(patron=patron, system="koha", fees=first)
    changed = [
        {"fee_id": f"K-{n}", "amount_cents": 400 if n < 10 else 500} | item for n in range(40)
    ] + [{"fee_id": f"K-new-{n}", "amount_cents": 300} | item for n in range(10)]
    runs = []
    for fees in (changed, changed):
        reset_queries()  # the log keeps 9,000 queries: start from an empty one
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            fees_sync(patron=patron, system="koha", fees=fees)
            runs.append(((time.perf_counter() - started) * 1000, len(queries)))
    return runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=20, help="payments booked per second")
    args = parser.parse_args()
    recreate_database()
    receiver = Receiver()
    target = WebhookTarget(url=receiver.url, secret=SECRET, timeout=5)
    try:
        per_second = backlog(args.payments, target)
        print(f"1. backlog of {args.payments}: {per_second:.0f} deliveries/s (one worker)")
        delays = delay(args.seconds, args.rate, target)
        p95 = delays[int(len(delays) * 0.95) - 1]
        print(
            f"2. booking -> delivered, {len(delays)} payments in {args.seconds:.0f} s: "
            f"median {statistics.median(delays):.0f} ms, p95 {p95:.0f} ms"
        )
    finally:
        receiver.stop()
    # As autovacuum would have by now on a live database: without statistics on the
    # freshly written journal the planner reads every payment once per open fee.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    (changed_ms, changed_q), (same_ms, same_q) = sync_figures()
    print(
        f"3. sync of 50 fees (10 new, 10 changed, 5 gone): {changed_ms:.0f} ms, {changed_q} queries"
    )
    print(f"   the same set again (no change): {same_ms:.0f} ms, {same_q} queries")


if __name__ == "__main__":
    main()
