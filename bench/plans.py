#!/usr/bin/env python
"""The SQL of one benchmarked page, each statement with its plan and time.

    .venv/bin/python bench/plans.py account --database epayment_bench_http_account
    .venv/bin/python bench/plans.py desk-card --database epayment_bench_http_desk
    .venv/bin/python bench/plans.py account --database ... --full   # whole plans
    .venv/bin/python bench/plans.py webhook-floor --database epayment_bench_http_account

It requests the page once in process (Django's test client, a real session of a random
patron or of the desk user bench/http_prepare.py made), captures its statements and runs
`EXPLAIN (ANALYZE, BUFFERS)` on each: the way to see that a page costs the same on a
ledger ten times larger (bench/README.md, "Growth"). Then it sends the same statements
again, one after the other on one connection, and prints what they take per page: the
page's SQL floor, its round trips and the server's planning and execution with no
Python around them.

`webhook-floor` times a lower bound for a webhook booking a payment instead: as many
round trips as it makes (`--statements`: 26, BEGIN and COMMIT included), all of them a
bare `SELECT 1` but one one-row INSERT (bench/README.md, "Why the targets are out of
reach").
"""

import argparse
import os
import random
import time

from common import setup_django

PAGES = {
    "account": "/account/",
    "desk-reference": "/desk/orders/?q={reference}",
    "desk-card": "/desk/orders/?q={card_number}",
    "desk-user": "/desk/orders/?q={user_number}",
}
REPEATS = 500


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", choices=[*PAGES, "webhook-floor"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--full", action="store_true", help="print whole plans")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--statements", type=int, default=26, help="for webhook-floor")
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

    if args.page == "webhook-floor":
        print_webhook_floor(connection, args.statements)
        return
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
    statements = [query["sql"] for query in captured.captured_queries]
    total = planning = 0.0
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = [row[0] for row in cursor.fetchall()]
            took = _milliseconds(plan, "Execution Time")
            total += took
            planning += _milliseconds(plan, "Planning Time")
            print(f"{took:8.3f} ms  {sql[:110]}")
            lines = plan if args.full else [line for line in plan if "Scan" in line]
            for line in lines:
                print(f"              {line.strip()[:150]}")
    print(f"\n{total:.3f} ms of execution and {planning:.3f} ms of planning in all")
    per_page = _timed(connection, lambda cursor: _send(cursor, statements))
    print(f"The same {len(statements)} statements sent again, {REPEATS} times on one connection: "
          f"{per_page:.2f} ms per page")  # fmt: skip


def print_webhook_floor(connection, count):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bench_floor (x int)")
    per_delivery = _timed(connection, lambda cursor: _send(cursor, [
        "BEGIN", *["SELECT 1"] * (count - 3), "INSERT INTO bench_floor VALUES (1)", "COMMIT",
    ]))  # fmt: skip
    print(
        f"{count} statements (BEGIN, SELECT 1, one one-row INSERT, COMMIT): "
        f"{per_delivery:.2f} ms per delivery, {REPEATS} times on one connection"
    )


def _milliseconds(plan, label) -> float:
    line = next((line for line in plan if line.startswith(label)), f"{label}: 0 ms")
    return float(line.split(":")[1].split()[0])


def _send(cursor, statements):
    for sql in statements:
        cursor.execute(sql)
        if cursor.description:
            cursor.fetchall()


def _timed(connection, work) -> float:
    """Milliseconds per call of work(cursor), the median of three rounds of REPEATS calls."""
    rounds = []
    with connection.cursor() as cursor:
        for _ in range(3):
            started = time.perf_counter()
            for _ in range(REPEATS):
                work(cursor)
            rounds.append((time.perf_counter() - started) / REPEATS * 1000)
    return sorted(rounds)[1]


if __name__ == "__main__":
    main()
