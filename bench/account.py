#!/usr/bin/env python
"""Benchmark of the patron's account page and of webhook deliveries, on PostgreSQL.

Run from the repository root:

    .venv/bin/python bench/account.py                      # or: make bench-account
    .venv/bin/python bench/account.py --patrons 500 --entries 10000   # smoke run

It DROPS and recreates the database named in DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/epayment_bench_account; the name must
contain "bench"), migrates it, loads 10,000 patrons with 200,000 journal
entries (set-based SQL), settles the history once, and then measures:

1. the account page (Django's test client, in process: view, queries and
   template; no HTTP server or network) for randomly chosen patrons: median
   and 95th-percentile time, and the SQL query count of every request (it must
   be the same whatever the number of fees);
2. Stripe webhook deliveries (checkout.session.completed, signed with the
   real scheme, each booking a payment) posted one after the other: deliveries
   handled per second.

Figures and method: bench/README.md.
"""

import argparse
import datetime
import statistics
import time

from common import setup_django

setup_django(
    "epayment_bench_account",
    STRIPE_SECRET_KEY="sk_test_bench",
    STRIPE_WEBHOOK_SECRET="whsec_bench",
)

from common import order_awaiting_stripe, recreate_database, signed_completion  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Patron  # noqa: E402
from fees.models import JournalEntry  # noqa: E402
from fees.settlement import settlement_run  # noqa: E402
from payments.models import PaymentOrder  # noqa: E402


def load(patrons: int, entries: int, history_date):
    """`patrons` patrons with `entries` entries between them, all on history_date."""
    per_patron = entries // patrons
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                                   email, is_staff, is_active, date_joined)
            SELECT '!', false, 'patron-' || n, '', 'Patron ' || n, '', false, true, now()
            FROM generate_series(1, %s) AS n
            """,
            [patrons],
        )
        cursor.execute(
            """
            INSERT INTO accounts_patron (user_id, user_number, card_number, first_name,
                                         last_name, email, created_at)
            SELECT id, 'U' || substr(username, 8), '9' || lpad(substr(username, 8), 9, '0'),
                   'Bench', last_name, '', now()
            FROM auth_user WHERE username LIKE 'patron-%%'
            """
        )
        # Two fees for each payment; every tenth patron paid nothing, so fees stay open.
        cursor.execute(
            """
            INSERT INTO fees_journalentry (patron_id, kind, amount_cents, currency, booked_at,
                business_date, fee_type, description, item, method, reference, note)
            SELECT p.id,
                   CASE WHEN i %% 3 = 0 AND p.id %% 10 <> 0 THEN 'payment' ELSE 'fee' END,
                   CASE WHEN i %% 3 = 0 AND p.id %% 10 <> 0 THEN -(100 + (i * 37) %% 400)
                        ELSE 50 + (i * 53) %% 900 END,
                   'EUR', %s::date + make_interval(secs => i), %s::date,
                   CASE WHEN i %% 3 = 0 AND p.id %% 10 <> 0 THEN '' ELSE 'overdue' END,
                   CASE WHEN i %% 3 = 0 AND p.id %% 10 <> 0 THEN '' ELSE 'Overdue fine ' || i END,
                   '', '', '', ''
            FROM accounts_patron p, generate_series(1, %s) AS i
            """,
            [history_date, history_date, per_patron],
        )
        cursor.execute("ANALYZE")


def account_page(samples: int):
    patrons = list(Patron.objects.order_by("?").values_list("user_id", flat=True)[:samples])
    client = Client()
    url = reverse("payments:account")
    timings, query_counts, fee_counts = [], set(), set()
    for user_id in patrons:
        client.force_login(Patron.objects.get(user_id=user_id).user)
        reset_queries()  # the query log keeps 9,000 entries; start each request empty
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - start)
        assert response.status_code == 200
        query_counts.add(len(captured.captured_queries))
        fee_counts.add(len(response.context["account"].open_fees))
    timings.sort()
    return {
        "requests": len(timings),
        "median_ms": statistics.median(timings) * 1000,
        "p95_ms": timings[int(len(timings) * 0.95) - 1] * 1000,
        "queries": sorted(query_counts),
        "open_fees_range": (min(fee_counts), max(fee_counts)),
    }


def webhooks(count: int):
    """Orders awaiting Stripe's confirmation, then one signed completed-event each."""
    patrons = list(Patron.objects.filter(user_id__in=Patron.objects.values("user_id")[:count]))
    orders = [
        order_awaiting_stripe(
            JournalEntry.objects.filter(patron=patron, kind="fee").first(),
            f"cs_test_bench_{patron.pk}",
        )
        for patron in patrons
    ]
    bodies = [signed_completion(order) for order in orders]
    client = Client()
    url = reverse("payments:webhook", args=["stripe"])
    start = time.perf_counter()
    for body, signature in bodies:
        response = client.post(
            url, body, content_type="application/json", headers={"Stripe-Signature": signature}
        )
        assert response.status_code == 200, response.content
    elapsed = time.perf_counter() - start
    booked = PaymentOrder.objects.filter(pk__in=[o.pk for o in orders], status="Paid").count()
    assert booked == len(orders), f"only {booked} of {len(orders)} orders paid"
    return {"deliveries": len(bodies), "seconds": elapsed, "per_second": len(bodies) / elapsed}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patrons", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--samples", type=int, default=500, help="account page requests")
    parser.add_argument("--webhooks", type=int, default=1000, help="webhook deliveries")
    parser.add_argument("--load-only", action="store_true", help="load and settle, then stop")
    args = parser.parse_args()

    setup_test_environment()  # test client context, in-memory e-mail
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PAYMENT_PROVIDER = "stripe"
    history = timezone.localdate() - datetime.timedelta(days=2)

    start = time.perf_counter()
    recreate_database()
    load(args.patrons, args.entries, history)
    report = settlement_run(business_date=history)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would after the nightly run
    loaded = JournalEntry.objects.count()
    seconds = time.perf_counter() - start
    print(f"Loaded {loaded:,} entries for {args.patrons:,} patrons and settled them in "
          f"{seconds:.1f} s: {report.summary()}")  # fmt: skip
    if args.load_only:
        return

    page = account_page(args.samples)
    fewest, most = page["open_fees_range"]
    print(f"Account page: {page['requests']} requests, median {page['median_ms']:.1f} ms, "
          f"p95 {page['p95_ms']:.1f} ms, SQL queries per request {page['queries']} "
          f"(open fees per patron {fewest} to {most})")  # fmt: skip

    hooks = webhooks(args.webhooks)
    print(f"Webhooks: {hooks['deliveries']} checkout.session.completed deliveries in "
          f"{hooks['seconds']:.2f} s = {hooks['per_second']:.0f} per second "
          f"(each verified, one order locked, one event and one payment booked)")  # fmt: skip


if __name__ == "__main__":
    main()
