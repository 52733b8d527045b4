#!/usr/bin/env python
"""Benchmark of the staff desk's orders list (/desk/orders/) on PostgreSQL.

Run from the repository root:

    .venv/bin/python bench/desk.py                     # or: make bench-desk
    .venv/bin/python bench/desk.py --patrons 2000 --orders 20000 --requests 10   # smoke run
    .venv/bin/python bench/desk.py --no-load           # measure the database loaded last time

It DROPS and recreates the database named in DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/epayment_bench_desk; the name must contain
"bench"), migrates it and loads, with set-based SQL, 100,000 patrons, 1,000,000
payment orders over two years, about 5,000,000 payment events and a payment journal
entry for every order that booked one. Then `VACUUM (ANALYZE)`.

It then measures the orders list as staff use it: Django's test client (view, queries
and template in process; no HTTP server), logged in as a member of the "Desk staff"
group, GET /desk/orders/ with no filter, searches by reference, reference prefix,
card number and user number, a status filter, the "needs attention" filter and a date
range. For each case: median and 95th percentile time, the SQL query count of every
request and the time of the paginator's COUNT(*) and of the page's SELECT. Then it
prints EXPLAIN (ANALYZE, BUFFERS) of the SQL each case sent.

Its first version also measured three suggestions (a partial index, pages without
COUNT(*), patrons read after the OFFSET); all three are in the application now, and the
before/after figures are kept in bench/README.md.

Figures and method: bench/README.md.
"""

import argparse
import datetime
import logging
import math
import random
import re
import statistics
import sys
import time
from urllib.parse import urlencode

from common import setup_django

setup_django("epayment_bench_desk")

from common import (  # noqa: E402
    bench_database_name,
    bulk_load,
    load_patrons,
    raw_connect,
    recreate_database,
    say,
    step,
)
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from psycopg import sql  # noqa: E402

from payments.reference import ALPHABET  # noqa: E402
from staffdesk import selectors as staffdesk_selectors  # noqa: E402

HISTORY_DAYS = 730
# What became of the orders (percent of all orders); orders created in the last
# 30 minutes are still open instead. kind: (status, share, books a payment entry)
ORDER_KINDS = {
    "paid": ("Paid", 84.5, True),
    "failed": ("Failed", 10.4, False),
    "cancelled": ("CancelledByBib", 4.5, False),
    "underpaid": ("Underpaid", 0.3, True),
    "chargeback": ("Cancelation", 0.2, True),  # paid, then charged back
    "paid_late": ("Paid", 0.02, False),  # paid after the library cancelled: book by hand
    "created": ("Created", 0.02, False),  # never reached the provider, not expired
    "at_provider": ("CreatedAtProvider", 0.06, False),  # provider never answered
}
RECENT_OPEN_MINUTES = 30
METHODS = [("card", 70), ("paypal", 15), ("sepa_debit", 10), ("klarna", 5)]
LOADED_TABLES = (
    "auth_user",
    "accounts_patron",
    "fees_journalentry",
    "payments_paymentorder",
    "payments_paymentevent",
)
PAGE_SIZE = 25  # staffdesk.views.orders

# --- helpers -------------------------------------------------------------------------


def percentile(sorted_values, share):
    """Nearest-rank percentile of an ascending list."""
    return sorted_values[max(0, math.ceil(len(sorted_values) * share) - 1)]


# --- data ----------------------------------------------------------------------------


def reference_sql(n):
    """SQL for a reference 'EP-XXXX-XXXX' that is unique for each n in 1..30**8.

    n -> (n * A + B) mod 30**8 is a bijection (A is coprime to 30); A is close to
    30**8 times the golden ratio, so consecutive orders get unrelated-looking references.
    """
    size = len(ALPHABET) ** 8
    multiplier = int(size * (math.sqrt(5) - 1) / 2)
    while math.gcd(multiplier, len(ALPHABET)) != 1:
        multiplier += 1
    x = f"mod(({n})::bigint * {multiplier} + 7777777, {size})"
    chars = [
        f"substr('{ALPHABET}', mod({x} / {len(ALPHABET) ** (7 - i)}, {len(ALPHABET)})::int + 1, 1)"
        for i in range(8)
    ]
    return "'EP-' || " + " || ".join(chars[:4]) + " || '-' || " + " || ".join(chars[4:])


def cumulative_case(value, table):
    """CASE over a uniform [0, 1) value picking a key by its weight."""
    total = sum(weight for _, weight in table)
    parts, edge = [], 0.0
    for key, weight in table[:-1]:
        edge += weight / total
        parts.append(f"WHEN {value} < {edge!r} THEN '{key}'")
    return f"CASE {' '.join(parts)} ELSE '{table[-1][0]}' END"


def load(*, patrons, orders, events_per_order, seed):
    tz = settings.TIME_ZONE
    kinds = [(kind, share) for kind, (_, share, _) in ORDER_KINDS.items()]
    status_of = " ".join(f"WHEN '{k}' THEN '{s}'" for k, (s, _, _) in ORDER_KINDS.items())
    booked = ", ".join(f"'{k}'" for k, (_, _, books) in ORDER_KINDS.items() if books)
    low, high = events_per_order - 2, events_per_order + 2  # uniform, mean events_per_order
    with raw_connect() as conn, bulk_load(conn, LOADED_TABLES, work_mem="64MB", commit=True):
        conn.execute("SELECT setseed(%s)", [(seed % 2000) / 1000 - 1])
        with step(f"{patrons:,} patrons"):
            load_patrons(conn, patrons)
        with step(f"plan {orders:,} orders"):
            # One row per order with all its random draws, read by the three inserts below.
            conn.execute(
                f"""
                CREATE TEMP TABLE bench_order AS
                SELECT d.*,
                       CASE d.kind WHEN 'open' THEN d.open_status {status_of} END AS status,
                       CASE WHEN d.kind IN ({booked}) THEN d.id END AS payment_entry_id,
                       CASE WHEN d.kind = 'underpaid'
                            THEN greatest(1, d.amount_cents / 2) ELSE d.amount_cents END
                           AS received_cents,
                       least(now(), d.created_at + CASE
                           WHEN d.kind IN ('paid', 'underpaid', 'failed')
                               THEN d.u_delay * interval '40 minutes'
                           WHEN d.kind = 'cancelled' THEN d.u_delay * interval '3 days'
                           WHEN d.kind IN ('chargeback', 'paid_late')
                               THEN interval '1 day' + d.u_delay * interval '60 days'
                           ELSE interval '0' END) AS updated_at,
                       least(now(), d.created_at + d.u_delay * interval '10 minutes') AS paid_at
                FROM (
                    SELECT r.*,
                           CASE WHEN r.u_open < 0.3 THEN 'Created' ELSE 'CreatedAtProvider' END
                               AS open_status,
                           CASE WHEN r.created_at > now() - interval '{RECENT_OPEN_MINUTES} minutes'
                                THEN 'open' ELSE {cumulative_case("r.u_kind", kinds)} END AS kind,
                           CASE WHEN r.u_mode < 0.003 THEN 'test' ELSE 'live' END AS mode,
                           {cumulative_case("r.u_method", METHODS)} AS method,
                           {reference_sql("r.id")} AS reference
                    FROM (
                        SELECT n AS id,
                               now() - interval '{HISTORY_DAYS} days'
                                   + (n - random()) * (interval '{HISTORY_DAYS} days' / %(n)s)
                                   AS created_at,
                               1 + floor(random() * %(patrons)s)::bigint AS patron_id,
                               50 + floor(random() ^ 2 * 6000)::bigint AS amount_cents,
                               %(low)s + floor(random() * (%(high)s - %(low)s + 1))::int
                                   AS events,
                               random() AS u_kind, random() AS u_open, random() AS u_mode,
                               random() AS u_method, random() AS u_delay
                        FROM generate_series(1, %(n)s) AS n
                    ) AS r
                ) AS d
                """,
                {"n": orders, "patrons": patrons, "low": low, "high": high},
            )
        with step("payment journal entries"):
            conn.execute(
                """
                INSERT INTO fees_journalentry (id, patron_id, kind, amount_cents, currency,
                    booked_at, business_date, fee_type, description, item, method, reference,
                    note)
                SELECT id, patron_id, 'payment', -received_cents, 'EUR', paid_at,
                       (paid_at AT TIME ZONE %(tz)s)::date, '', '', '',
                       'online: ' || method, reference, ''
                FROM bench_order WHERE payment_entry_id IS NOT NULL
                """,
                {"tz": tz},
            )
            # A chargeback reverses the payment.
            conn.execute(
                """
                INSERT INTO fees_journalentry (id, patron_id, kind, amount_cents, currency,
                    booked_at, business_date, fee_type, description, item, method, reference,
                    note, target_id)
                SELECT %(n)s + id, patron_id, 'reversal', received_cents, 'EUR', updated_at,
                       (updated_at AT TIME ZONE %(tz)s)::date, '', '', '', '',
                       'evt_bench_' || id || '_' || events, '', id
                FROM bench_order WHERE status = 'Cancelation'
                """,
                {"n": orders, "tz": tz},
            )
        with step(f"{orders:,} orders"):
            conn.execute(
                """
                INSERT INTO payments_paymentorder (id, reference, patron_id, amount_cents,
                    currency, provider, mode, status, provider_transaction_id,
                    provider_payment_id, payment_entry_id, payment_method, created_at,
                    updated_at)
                SELECT id, reference, patron_id, amount_cents, 'EUR', 'stripe', mode, status,
                       CASE WHEN status <> 'Created' THEN 'cs_' || mode || '_bench' || id END,
                       CASE WHEN status IN ('Paid', 'Underpaid', 'Cancelation')
                            THEN 'pi_' || mode || '_bench' || id END,
                       payment_entry_id,
                       CASE WHEN status IN ('Paid', 'Underpaid', 'Cancelation', 'Failed')
                            THEN method ELSE 'Unknown' END,
                       created_at, updated_at
                FROM bench_order
                """
            )
        with step("payment events"):
            # Created (portal), then the provider's notices, the last one the order's status.
            conn.execute(
                """
                INSERT INTO payments_paymentevent (order_id, status, at, source, staff_user_id,
                    payment_method, provider_event_id, amount_cents, note)
                SELECT e.id, e.status,
                       CASE WHEN e.i = e.events THEN e.updated_at
                            ELSE e.created_at + (e.updated_at - e.created_at)
                                 * ((e.i - 1)::float8 / (e.events - 1)) END,
                       e.source, NULL,
                       CASE WHEN e.status IN ('Paid', 'Underpaid', 'Failed') THEN e.method
                            ELSE 'Unknown' END,
                       CASE WHEN e.source = 'provider'
                            THEN 'evt_bench_' || e.id || '_' || e.i ELSE '' END,
                       CASE WHEN e.status IN ('Paid', 'Underpaid') THEN e.received_cents END,
                       ''
                FROM (
                    SELECT s.*,
                           CASE WHEN s.i = 1 THEN 'portal'
                                WHEN s.status = 'CancelledByBib' THEN 'staff'
                                WHEN s.status = 'Created' THEN 'system'
                                ELSE 'provider' END AS source
                    FROM (
                        SELECT o.id, o.events, o.created_at, o.updated_at, o.method,
                               o.received_cents, i,
                               CASE WHEN i = o.events THEN o.status
                                    WHEN i = 1 OR o.status = 'Created' THEN 'Created'
                                    WHEN i = o.events - 1 AND o.kind = 'chargeback' THEN 'Paid'
                                    WHEN i = o.events - 1 AND o.kind = 'paid_late'
                                        THEN 'CancelledByBib'
                                    ELSE 'CreatedAtProvider' END AS status
                        FROM bench_order AS o, generate_series(1, o.events) AS i
                    ) AS s
                ) AS e
                """
            )
        conn.execute("DROP TABLE bench_order")
        for table in LOADED_TABLES:
            conn.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({t}, 'id'), "
                    "(SELECT coalesce(max(id), 0) + 1 FROM {i}), false)"
                ).format(t=sql.Literal(table), i=sql.Identifier(table))
            )
    with step("VACUUM (ANALYZE), CHECKPOINT"), raw_connect(autocommit=True) as conn:
        for table in LOADED_TABLES:
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
        conn.execute("CHECKPOINT")


def describe_data():
    with raw_connect() as conn:
        rows = conn.execute(
            """
            SELECT status, payment_entry_id IS NULL AS no_entry, count(*)
            FROM payments_paymentorder GROUP BY 1, 2 ORDER BY 3 DESC
            """
        ).fetchall()
        (events,) = conn.execute("SELECT count(*) FROM payments_paymentevent").fetchone()
        (entries,) = conn.execute("SELECT count(*) FROM fees_journalentry").fetchone()
        (patrons,) = conn.execute("SELECT count(*) FROM accounts_patron").fetchone()
        (mismatch,) = conn.execute(
            """
            SELECT count(*) FROM payments_paymentorder AS o
            WHERE o.status <> (SELECT e.status FROM payments_paymentevent AS e
                               WHERE e.order_id = o.id ORDER BY e.at DESC, e.id DESC LIMIT 1)
            """
        ).fetchone()
        first, last = conn.execute(
            "SELECT min(created_at), max(created_at) FROM payments_paymentorder"
        ).fetchone()
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        (size,) = size.fetchone()
    total = sum(count for *_, count in rows)
    say(f"  {patrons:,} patrons, {total:,} orders ({first:%Y-%m-%d} to {last:%Y-%m-%d}), "
        f"{events:,} events, {entries:,} journal entries; database {size}")  # fmt: skip
    for status, no_entry, count in rows:
        entry = "" if status not in ("Paid", "Underpaid", "Cancelation") else (
            "  without payment entry (paid after cancellation)" if no_entry else
            "  with payment entry")  # fmt: skip
        say(f"    {status:<18} {count:>9,}  {100 * count / total:6.2f} %{entry}")
    if mismatch:
        sys.exit(f"{mismatch} orders whose status is not their latest event's status")
    say("  every order's status equals its latest event's status")


# --- measuring -----------------------------------------------------------------------


def desk_client():
    user, _ = User.objects.get_or_create(username="desk-bench", defaults={"is_staff": True})
    user.set_password("bench")
    user.save()
    user.groups.add(Group.objects.get(name="Desk staff"))
    client = Client()
    client.force_login(user)
    return client


def samples(count, rng):
    """Random orders and patrons to search for (different ones for each request)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM payments_paymentorder")
        (max_order,) = cursor.fetchone()
        cursor.execute(
            "SELECT reference FROM payments_paymentorder WHERE id = ANY(%s)",
            [rng.sample(range(1, max_order + 1), count)],
        )
        references = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT card_number, user_number FROM accounts_patron "
            "WHERE id IN (SELECT patron_id FROM payments_paymentorder WHERE id = ANY(%s))",
            [rng.sample(range(1, max_order + 1), count)],
        )
        patrons = cursor.fetchall()
    rng.shuffle(references)
    rng.shuffle(patrons)
    return references, patrons


def build_cases(count, rng):
    references, patrons = samples(count, rng)
    today = timezone.localdate()
    month = {
        "date_from": (today - datetime.timedelta(days=60)).isoformat(),
        "date_to": (today - datetime.timedelta(days=31)).isoformat(),
    }
    return [
        ("first page, no filter", [{}] * count),
        ("page 2, no filter", [{"page": 2}] * count),
        ("page 400, no filter", [{"page": 400}] * count),
        ("full reference", [{"q": ref} for ref in references]),
        ("reference prefix (6 chars)", [{"q": ref[:6]} for ref in references]),
        ("card number", [{"q": card} for card, _ in patrons]),
        ("user number", [{"q": number} for _, number in patrons]),
        ("status=Failed", [{"status": "Failed"}] * count),
        ("status=Paid", [{"status": "Paid"}] * count),
        ("needs attention", [{"attention": "on"}] * count),
        ("date range, 30 days", [month] * count),
    ]


def classify(statement):
    """Which of the page's statements this is ('count', 'list', 'patrons', ...) or None."""
    if 'FROM "payments_paymentorder"' in statement:
        return "count" if "COUNT(*)" in statement else "list"
    if 'FROM "accounts_patron"' in statement and '"card_number" = ' in statement:
        return "patrons"
    if 'FROM "accounts_patron"' in statement and '"accounts_patron"."id" IN (' in statement:
        return "page patrons"  # prefetch_related instead of the join
    return None


class StatementTimer:
    """Times every statement sent on the default connection (an execute wrapper)."""

    def __init__(self):
        self.times = []

    def __call__(self, execute, statement, params, many, context):
        start = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            self.times.append((statement, time.perf_counter() - start))


def measure(client, name, params_list, warmup=2):
    url = reverse("staffdesk:orders")
    urls = [f"{url}?{urlencode(params)}" if params else url for params in params_list]
    for warm in urls[:warmup]:
        assert client.get(warm).status_code == 200
    timings, query_counts, matches = [], set(), []
    parts = {"count": [], "list": [], "patrons": [], "page patrons": [], "sql": []}
    first_sql = None
    for target in urls:
        reset_queries()  # the query log keeps 9,000 entries; start each request empty
        timer = StatementTimer()
        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
            start = time.perf_counter()
            response = client.get(target)
            timings.append(time.perf_counter() - start)
        assert response.status_code == 200, (target, response.status_code)
        # The desk does not count its matches; count them here, outside the timing.
        form = response.context["form"]
        matches.append(staffdesk_selectors.order_search(**form.search_arguments()).count())
        query_counts.add(len(captured.captured_queries))
        seen = {}
        for statement, seconds in timer.times:
            if kind := classify(statement):
                seen[kind] = seen.get(kind, 0.0) + seconds
        for kind, seconds in seen.items():
            parts[kind].append(seconds)
        parts["sql"].append(sum(seconds for _, seconds in timer.times))
        if first_sql is None:
            first_sql = [q["sql"] for q in captured.captured_queries if classify(q["sql"])]
    timings.sort()

    def median_ms(values):
        return statistics.median(values) * 1000 if values else None

    return {
        "name": name,
        "url": urls[0],
        "requests": len(timings),
        "median_ms": statistics.median(timings) * 1000,
        "p95_ms": percentile(timings, 0.95) * 1000,
        "queries": sorted(query_counts),
        "matches": (min(matches), max(matches)) if matches else None,
        "sql_ms": median_ms(parts["sql"]),
        "count_ms": median_ms(parts["count"]),
        "list_ms": median_ms(parts["list"]),
        "statements": first_sql,
    }


def format_matches(matches):
    if matches is None:
        return "not counted"
    low, high = matches
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def print_table(results, title):
    say(f"\n{title}")
    say("| case | matching orders | median ms | p95 ms | SQL queries | all SQL ms | "
        "COUNT(*) ms | page SELECT ms |")  # fmt: skip
    say("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        queries = ", ".join(map(str, r["queries"]))
        count = "-" if r["count_ms"] is None else f"{r['count_ms']:.1f}"
        listing = "-" if r["list_ms"] is None else f"{r['list_ms']:.1f}"
        say(f"| {r['name']} | {format_matches(r['matches'])} | {r['median_ms']:.1f} | "
            f"{r['p95_ms']:.1f} | {queries} | {r['sql_ms']:.1f} | {count} | "
            f"{listing} |")  # fmt: skip


SCAN = re.compile(r"((?:Parallel )?(?:Seq|Index|Index Only|Bitmap Heap|Bitmap Index) Scan.*?)"
                  r"\s+\(cost")  # fmt: skip


def explain(statement):
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement)
        return [row[0] for row in cursor.fetchall()]


def print_plans(results):
    """EXPLAIN (ANALYZE, BUFFERS) of each case's statements; returns the key lines."""
    summary = []
    seen = set()
    for r in results:
        for statement in r["statements"]:
            kind = classify(statement)
            if statement in seen:
                continue
            seen.add(statement)
            plan = explain(statement)
            say(f"\n--- {r['name']}: {kind} ---")
            say(statement)
            say("\n".join(plan))
            scans = [m.group(1).strip() for line in plan if (m := SCAN.search(line))]
            execution = next((line for line in plan if line.startswith("Execution Time")), "")
            seq = [s for s in scans if s.startswith(("Seq Scan", "Parallel Seq Scan"))]
            bad = [s for s in seq if "payments_payment" in s]
            summary.append((r["name"], kind, scans, execution, bad))
    say("\nKey plan lines (scans; a sequential scan over orders or events is marked !!):")
    for name, kind, scans, execution, bad in summary:
        mark = "!!" if bad else "  "
        say(f"{mark} {name} / {kind}: {'; '.join(scans)} [{execution}]")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patrons", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=5, help="events per order, on average")
    parser.add_argument("--requests", type=int, default=50, help="requests per case")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-load", action="store_true", help="reuse the loaded database")
    parser.add_argument("--no-plans", action="store_true", help="skip EXPLAIN ANALYZE")
    parser.add_argument("--load-only", action="store_true", help="load, then stop")
    args = parser.parse_args()
    if args.events < 3:
        parser.error("--events must be at least 3")

    setup_test_environment()  # test client context
    logging.getLogger("axes").setLevel(logging.WARNING)  # no line per force_login
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    name = bench_database_name("desk")
    if not args.no_load:
        say(f"Loading {name}:")
        start = time.perf_counter()
        with step("drop, create, migrate"):
            recreate_database(name)
        load(patrons=args.patrons, orders=args.orders, events_per_order=args.events,
             seed=args.seed)  # fmt: skip
        say(f"  loaded in {time.perf_counter() - start:.1f} s")
    describe_data()
    if args.load_only:
        return

    client = desk_client()
    cases = build_cases(args.requests, random.Random(args.seed))
    for _ in range(20):  # a warm process and cache before the first measured case
        client.get(reverse("staffdesk:orders"))
    say(f"\nMeasuring GET /desk/orders/, {args.requests} requests per case "
        f"({PAGE_SIZE} orders per page):")  # fmt: skip
    results = []
    for case_name, params in cases:
        results.append(measure(client, case_name, params))
        r = results[-1]
        say(f"  {case_name:<28} median {r['median_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  "
            f"queries {r['queries']}")  # fmt: skip
    print_table(results, "Results:")
    if not args.no_plans:
        print_plans(results)


if __name__ == "__main__":
    main()
