#!/usr/bin/env python
"""The SQL of one benchmarked page, each statement with its plan and time.

    .venv/bin/python bench/plans.py account --database epayment_bench_http_account
    .venv/bin/python bench/plans.py desk-card --database epayment_bench_http_desk
    .venv/bin/python bench/plans.py account --database ... --full   # whole plans

It requests the page once in process (Django's test client, a real session of a random
patron or of the desk user bench/http_prepare.py made), captures its statements and runs
`EXPLAIN (ANALYZE, BUFFERS)` on each: the way to see that a page costs the same on a
ledger ten times larger (bench/README.md, "Growth").
"""

import argparse
import os
import random

from common import setup_django

PAGES = {
    "account": "/account/",
    "desk-reference": "/desk/orders/?q={reference}",
    "desk-card": "/desk/orders/?q={card_number}",
    "desk-user": "/desk/orders/?q={user_number}",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", choices=PAGES)
    parser.add_argument("--database", required=True)
    parser.add_argument("--full", action="store_true", help="print whole plans")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-plans-not-secret-0123456789abcdefghijklmnopqrstuv")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    setup_django(args.database)

    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Patron
    from payments.models import PaymentOrder

    rng = random.Random(args.seed)
    last_patron = Patron.objects.order_by("-pk").values_list("pk", flat=True).first()
    patron = Patron.objects.filter(pk__gte=rng.randint(1, last_patron)).order_by("pk").first()
    client = Client()
    if args.page == "account":
        client.force_login(patron.user)
        path = PAGES["account"]
    else:
        client.force_login(User.objects.get(username="desk-http-bench"))
        order = PaymentOrder.objects.filter(patron=patron).first()
        path = PAGES[args.page].format(
            reference=order.reference if order else "EP-NONE-NONE",
            card_number=patron.card_number,
            user_number=patron.user_number,
        )
    client.get(path)  # warm: connection, caches
    with CaptureQueriesContext(connection) as captured:
        status = client.get(path).status_code
    print(f"{path}: {status}, {len(captured.captured_queries)} statements\n")
    total = 0.0
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            plan = [row[0] for row in cursor.fetchall()]
            took = float(plan[-1].split(":")[1].split()[0])
            total += took
            print(f"{took:8.3f} ms  {query['sql'][:110]}")
            lines = plan if args.full else [line for line in plan if "Scan" in line]
            for line in lines:
                print(f"              {line.strip()[:150]}")
    print(f"\n{total:.3f} ms of execution in all")


if __name__ == "__main__":
    main()
