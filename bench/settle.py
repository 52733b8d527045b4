#!/usr/bin/env python
"""Benchmark of the daily settlement (`fees.settlement.settlement_run`) on PostgreSQL.

Run from the repository root:

    .venv/bin/python bench/settle.py            # or: make bench-settle
    .venv/bin/python bench/settle.py --patrons 500 --history 20000 --entries 2000   # smoke run

It DROPS and recreates the database named in DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/epayment_bench; the name must contain "bench"),
migrates it, loads a ledger with set-based SQL and COPY, times a reference (an
INSERT ... SELECT of as many rows as the settlement settles, into a table shaped like
fees_allocation), then measures one settlement run: wall time, its ratio to the
reference, peak Python memory (tracemalloc), max RSS and the SQL queries it sends.
A second, smaller day (same patrons, fewer entries each) is settled afterwards to show
that the number of queries follows the number of patron batches, not the number of
entries. Both runs are checked with SQL.

See bench/README.md for the data set and the figures measured.
"""

import argparse
import contextlib
import cProfile
import datetime
import gc
import io
import os
import pstats
import random
import re
import resource
import sys
import time
import tracemalloc
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from common import setup_django

setup_django("epayment_bench")

import django  # noqa: E402
from common import (  # noqa: E402
    BACKING_NO_CONSTRAINT,
    bench_database_name,
    bulk_load,
    drop_database,
    load_patrons,
    raw_connect,
    recreate_database,
    say,
    step,
)
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from psycopg import sql  # noqa: E402

from fees.settlement import settlement_run  # noqa: E402

HISTORY_DAYS = 730
# fmt: off
JOURNAL_COLUMNS = [
    "id", "patron_id", "kind", "amount_cents", "currency", "booked_at", "business_date",
    "fee_type", "description", "item", "method", "reference", "note", "target_id",
    "settled_in_id", "cleared_in_id",
]
# fmt: on
FEE_TYPES = {
    # fee_type: (description, low cents, high cents)
    "overdue": ("Overdue fine", 50, 1500),
    "reminder": ("Reminder fee", 150, 300),
    "lost_item": ("Lost or damaged item", 1500, 6000),
    "membership": ("Membership fee", 1500, 2500),
    "reservation": ("Reservation fee", 100, 100),
}
FEE_TYPE_WEIGHTS = [70, 15, 4, 6, 5]


# --- helpers -------------------------------------------------------------------------


def mib(n_bytes):
    return n_bytes / 2**20


def read_status_kib(key):
    """VmRSS / VmHWM of this process in KiB (Linux), or None."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss():
    """Reset the kernel's RSS high-water mark (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


# --- database ------------------------------------------------------------------------


@contextlib.contextmanager
def using_database(name):
    """Point Django's default connection (and raw_connect) at another database for a while."""
    original = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original


LOADED_TABLES = (
    "accounts_patron",
    "fees_journalentry",
    "fees_allocation",
    "fees_journalentry_for_fees",
)


def vacuum_analyze():
    with raw_connect(autocommit=True) as conn:
        for table in (
            "auth_user",
            "accounts_patron",
            "fees_settlement",
            "fees_journalentry",
            "fees_allocation",
            "fees_journalentry_for_fees",
        ):
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
        # Flush the load's dirty buffers now, not during the measured run.
        conn.execute("CHECKPOINT")


def reset_sequences(conn):
    for table in (
        "auth_user",
        "accounts_patron",
        "fees_settlement",
        "fees_journalentry",
        "fees_allocation",
        "fees_journalentry_for_fees",
    ):
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({t}, 'id'), "
                "(SELECT coalesce(max(id), 0) + 1 FROM {i}), false)"
            ).format(t=sql.Literal(table), i=sql.Identifier(table))
        )


def copy_rows(conn, table, columns, rows):
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


# --- data ----------------------------------------------------------------------------


@dataclass
class OpenFee:
    id: int
    waivable: int  # what waiver_book would still accept (amount - allocated - pending waivers)
    payable: int  # what an online payment for it would still pay


@dataclass
class Dataset:
    history_settlement_id: int = 0
    next_id: int = 1
    old_open_fees: dict = field(default_factory=lambda: defaultdict(list))


def local_dt(day, seconds, tz):
    return datetime.datetime.combine(day, datetime.time(), tzinfo=tz) + datetime.timedelta(
        seconds=seconds
    )


def random_fee(rng):
    fee_type = rng.choices(list(FEE_TYPES), FEE_TYPE_WEIGHTS)[0]
    description, low, high = FEE_TYPES[fee_type]
    return fee_type, description, rng.randint(low, high)


def fee_row(entry_id, patron, amount, fee_type, description, when, day, settled=None, cleared=None):
    item = f"Item {entry_id % 99991}" if fee_type in ("overdue", "lost_item") else ""
    return (
        entry_id,
        patron,
        "fee",
        amount,
        settings.LIBRARY_CURRENCY,
        when,
        day,
        fee_type,
        description,
        item,
        "",
        "",
        "",
        None,
        settled,
        cleared,
    )


def credit_row(
    entry_id,
    patron,
    kind,
    amount,
    when,
    day,
    *,
    method="",
    reference="",
    note="",
    target=None,
    settled=None,
    cleared=None,
):
    assert amount > 0
    return (
        entry_id,
        patron,
        kind,
        -amount,
        settings.LIBRARY_CURRENCY,
        when,
        day,
        "",
        "",
        "",
        method,
        reference,
        note,
        target,
        settled,
        cleared,
    )


def load_history(conn, rng, ds, *, patrons, history, history_date, tz):
    """A settled past: fee/payment pairs fully offset, plus some patrons with open items."""
    started = local_dt(history_date + datetime.timedelta(days=1), 3600, tz)
    row = conn.execute(
        """
        INSERT INTO fees_settlement (business_date, started_at, finished_at, entries_settled,
            allocations_made, debits_cents, credits_cents, allocated_cents)
        VALUES (%s, %s, %s, 0, 0, 0, 0, 0) RETURNING id
        """,
        [history_date, started, started + datetime.timedelta(minutes=4)],
    ).fetchone()
    settlement = ds.history_settlement_id = row[0]

    # Python-made special cases (a few thousand rows), COPY'd in.
    rows, allocations = [], []
    next_id = 1
    first_day = history_date - datetime.timedelta(days=HISTORY_DAYS - 1)

    def some_day():
        return first_day + datetime.timedelta(days=rng.randrange(HISTORY_DAYS))

    for patron in range(1, patrons + 1):
        # 5 % of patrons: 1-3 old fees nobody paid yet.
        if rng.random() < 0.05:
            for _ in range(rng.randint(1, 3)):
                fee_type, description, amount = random_fee(rng)
                day = some_day()
                rows.append(
                    fee_row(
                        next_id,
                        patron,
                        amount,
                        fee_type,
                        description,
                        local_dt(day, rng.randrange(8 * 3600, 20 * 3600), tz),
                        day,
                        settled=settlement,
                    )
                )
                ds.old_open_fees[patron].append(OpenFee(next_id, amount, amount))
                next_id += 1
        # 2 %: an old fee paid in part (payment cleared, fee open).
        if rng.random() < 0.02:
            fee_type, description, amount = random_fee(rng)
            amount = max(amount, 200)
            paid = rng.randint(1, amount - 100)
            day = some_day()
            when = local_dt(day, rng.randrange(8 * 3600, 18 * 3600), tz)
            rows.append(
                fee_row(
                    next_id, patron, amount, fee_type, description, when, day, settled=settlement
                )
            )
            rows.append(
                credit_row(
                    next_id + 1,
                    patron,
                    "payment",
                    paid,
                    when + datetime.timedelta(minutes=30),
                    day,
                    method="cash",
                    settled=settlement,
                    cleared=settlement,
                )
            )
            allocations.append((settlement, next_id + 1, next_id, paid))
            ds.old_open_fees[patron].append(OpenFee(next_id, amount - paid, amount - paid))
            next_id += 2
        # 2 %: an old overpayment, leaving credit for later settlements (payment open).
        if rng.random() < 0.02:
            fee_type, description, amount = random_fee(rng)
            extra = rng.randint(1, 2000)
            day = some_day()
            when = local_dt(day, rng.randrange(8 * 3600, 18 * 3600), tz)
            rows.append(
                fee_row(
                    next_id,
                    patron,
                    amount,
                    fee_type,
                    description,
                    when,
                    day,
                    settled=settlement,
                    cleared=settlement,
                )
            )
            rows.append(
                credit_row(
                    next_id + 1,
                    patron,
                    "payment",
                    amount + extra,
                    when + datetime.timedelta(minutes=30),
                    day,
                    method="card",
                    settled=settlement,
                )
            )
            allocations.append((settlement, next_id + 1, next_id, amount))
            next_id += 2

    # The bulk: fee + payment pairs, all offset in the historic settlement. Pair k is
    # entries 2k+1 (fee) and 2k+2 (payment) after the special ones.
    pairs = max(0, (history - len(rows)) // 2)
    base = next_id
    conn.execute(
        """
        INSERT INTO fees_journalentry (id, patron_id, kind, amount_cents, currency, booked_at,
            business_date, fee_type, description, item, method, reference, note,
            settled_in_id, cleared_in_id)
        WITH pair AS MATERIALIZED (
            SELECT k,
                   1 + (k %% %(patrons)s) AS patron,
                   fee_day,
                   least(%(last_day)s::date, fee_day + (random() * random() * 60)::int) AS pay_day,
                   interval '8 hours' + random() * interval '10 hours' AS fee_time,
                   random() * interval '2 hours' AS pay_delay,
                   (array['overdue', 'overdue', 'overdue', 'overdue', 'overdue', 'overdue',
                          'overdue', 'reminder', 'reminder', 'membership']
                   )[1 + floor(random() * 10)::int] AS fee_type,
                   random() AS r
            FROM generate_series(0, %(pairs)s - 1) AS k,
                 LATERAL (SELECT %(last_day)s::date - (random() * %(days)s)::int AS fee_day) AS d
        ), priced AS (
            SELECT pair.*,
                   CASE fee_type WHEN 'overdue' THEN 50 + (r * 1450)::int
                                 WHEN 'reminder' THEN 150 + (r * 150)::int
                                 ELSE 1500 + (r * 1000)::int END AS amount
            FROM pair
        )
        SELECT v.id, p.patron, v.kind, v.amount, %(currency)s, v.booked_at, v.day,
               v.fee_type, v.description, v.item, v.method, '', '',
               %(settlement)s, %(settlement)s
        FROM priced AS p
        CROSS JOIN LATERAL (VALUES
            (%(base)s + 2 * p.k, 'fee', p.amount, p.fee_day,
             (p.fee_day + p.fee_time) AT TIME ZONE %(tz)s, p.fee_type,
             CASE p.fee_type WHEN 'overdue' THEN 'Overdue fine'
                             WHEN 'reminder' THEN 'Reminder fee' ELSE 'Membership fee' END,
             CASE p.fee_type WHEN 'overdue' THEN 'Item ' || (p.k %% 99991) ELSE '' END, ''),
            (%(base)s + 2 * p.k + 1, 'payment', -p.amount, p.pay_day,
             (p.pay_day + CASE WHEN p.pay_day = p.fee_day THEN p.fee_time + p.pay_delay
                               ELSE interval '8 hours' + p.pay_delay * 5 END) AT TIME ZONE %(tz)s,
             '', '', '', CASE WHEN p.r < 0.6 THEN 'online: card' ELSE 'cash' END)
        ) AS v(id, kind, amount, day, booked_at, fee_type, description, item, method)
        """,
        {
            "patrons": patrons,
            "pairs": pairs,
            "base": base,
            "last_day": history_date,
            "days": HISTORY_DAYS - 1,
            "currency": settings.LIBRARY_CURRENCY,
            "settlement": settlement,
            "tz": settings.TIME_ZONE,
        },
    )
    conn.execute(
        """
        INSERT INTO fees_allocation (settlement_id, credit_id, debit_id, amount_cents)
        SELECT %(settlement)s, id + 1, id, amount_cents
        FROM fees_journalentry
        WHERE id >= %(base)s AND kind = 'fee'
        ORDER BY id
        """,
        {"settlement": settlement, "base": base},
    )
    copy_rows(conn, "fees_journalentry", JOURNAL_COLUMNS, rows)
    copy_rows(
        conn,
        "fees_allocation",
        ["settlement_id", "credit_id", "debit_id", "amount_cents"],
        allocations,
    )
    conn.execute(
        """
        UPDATE fees_settlement AS s SET
            entries_settled = e.n, debits_cents = e.debits, credits_cents = e.credits,
            allocations_made = a.n, allocated_cents = a.total
        FROM (SELECT count(*) AS n,
                     coalesce(sum(amount_cents) FILTER (WHERE amount_cents > 0), 0) AS debits,
                     -coalesce(sum(amount_cents) FILTER (WHERE amount_cents < 0), 0) AS credits
              FROM fees_journalentry WHERE settled_in_id = %(s)s) AS e,
             (SELECT count(*) AS n, coalesce(sum(amount_cents), 0) AS total
              FROM fees_allocation WHERE settlement_id = %(s)s) AS a
        WHERE s.id = %(s)s
        """,
        {"s": settlement},
    )
    ds.next_id = base + 2 * pairs
    return len(rows) + 2 * pairs


def load_day(conn, rng, ds, *, patrons, entries, day, tz, old_open_fees):
    """`entries` unsettled entries booked on `day`: ~60 % fees, ~35 % payments (half of them
    online, for selected fees), ~4 % credit notes, ~1 % waivers."""
    if entries >= patrons:
        # Every patron books at least once; the rest is spread at random.
        counts = Counter(range(1, patrons + 1))
        counts.update(rng.choices(range(1, patrons + 1), k=entries - patrons))
    else:
        counts = Counter(rng.sample(range(1, patrons + 1), entries))
    rows, for_fees = [], []
    next_id = ds.next_id
    kinds = Counter()
    for patron in sorted(counts):
        fees = [OpenFee(f.id, f.waivable, f.payable) for f in old_open_fees.get(patron, ())]
        seconds = sorted(rng.randrange(7 * 3600, 21 * 3600) for _ in range(counts[patron]))
        for second in seconds:
            when = local_dt(day, second, tz)
            r = rng.random()
            waivable = [f for f in fees if f.waivable > 0]
            if r >= 0.99 and not waivable:
                r = 0.0  # nothing to waive: book a fee instead
            if r < 0.60:
                fee_type, description, amount = random_fee(rng)
                rows.append(fee_row(next_id, patron, amount, fee_type, description, when, day))
                fees.append(OpenFee(next_id, amount, amount))
                kinds["fee"] += 1
            elif r < 0.95:
                payable = [f for f in fees if f.payable > 0]
                if payable and rng.random() < 0.5:
                    # Online: pays exactly the fees selected in the portal.
                    chosen = rng.sample(payable, min(len(payable), rng.choice((1, 1, 2, 3))))
                    amount = sum(f.payable for f in chosen)
                    for f in chosen:
                        f.payable = 0
                        for_fees.append((next_id, f.id))
                    rows.append(
                        credit_row(
                            next_id,
                            patron,
                            "payment",
                            amount,
                            when,
                            day,
                            method="online: card",
                            reference=f"ORD-{next_id}",
                        )
                    )
                    kinds["payment (online, for fees)"] += 1
                else:
                    # At the counter: often the whole balance, sometimes a round sum.
                    total = sum(f.payable for f in payable)
                    amount = (
                        total if total and rng.random() < 0.6 else rng.choice((500, 1000, 2000))
                    )
                    for f in payable:
                        f.payable = 0
                    rows.append(
                        credit_row(
                            next_id,
                            patron,
                            "payment",
                            amount,
                            when,
                            day,
                            method=rng.choice(("cash", "card")),
                        )
                    )
                    kinds["payment (counter)"] += 1
            elif r < 0.99:
                rows.append(
                    credit_row(
                        next_id,
                        patron,
                        "credit_note",
                        rng.randint(100, 1000),
                        when,
                        day,
                        note="Goodwill",
                    )
                )
                kinds["credit_note"] += 1
            else:
                fee = rng.choice(waivable)
                amount = fee.waivable if rng.random() < 0.5 else max(1, fee.waivable // 2)
                fee.waivable -= amount
                fee.payable = max(0, fee.payable - amount)
                rows.append(
                    credit_row(
                        next_id,
                        patron,
                        "waiver",
                        amount,
                        when,
                        day,
                        note="Waived at the desk",
                        target=fee.id,
                    )
                )
                kinds["waiver"] += 1
            next_id += 1
    copy_rows(conn, "fees_journalentry", JOURNAL_COLUMNS, rows)
    copy_rows(
        conn, "fees_journalentry_for_fees", ["from_journalentry_id", "to_journalentry_id"], for_fees
    )
    ds.next_id = next_id
    return kinds, len(for_fees), len(counts)


# --- measuring -----------------------------------------------------------------------

TRANSACTION_CONTROL = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b")
QUERY_LABELS = [
    ("advisory lock", r"pg_(try_)?advisory_(un)?lock"),
    ("settlement row", r'"fees_settlement"'),
    ("count patrons", r'^SELECT COUNT\(\*\) FROM \(+SELECT (DISTINCT )?"fees_journalentry"'),
    ("next patron batch", r'^\(?SELECT (DISTINCT )?"fees_journalentry"."patron_id"'),
    ("lock patrons", r"FOR UPDATE"),
    ("allocated before", r"^SELECT debit_id, SUM\(amount_cents\)"),
    ("paid-for fees", r'FROM "?fees_journalentry_for_fees'),
    ("open entries of batch", r"^SELECT id, patron_id, kind, amount_cents"),
    ("insert allocations", r'^INSERT INTO "?fees_allocation'),
    ("mark entries", r'^UPDATE "?fees_journalentry"? AS e SET'),
]
# One statement per batch for each kind of write; more would grow with the rows written.
WRITE_LABELS = ("insert allocations", "mark entries")


def chunked_writes(run):
    """Write statements beyond one per batch and kind: their number would follow the rows."""
    labels = Counter(label_of(q["sql"]) for q in run.queries)
    return sum(max(0, labels[label] - len(run.batch_times)) for label in WRITE_LABELS)


def label_of(statement):
    for label, pattern in QUERY_LABELS:
        if re.search(pattern, statement):
            return label
    words = statement.split()
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', statement)
    return f"{words[0] if words else '?'} {table.group(1) if table else ''}".strip()


@dataclass
class RunResult:
    label: str
    business_date: datetime.date
    batch: int
    wall: float
    python_peak: int | None
    rss_before_kib: int | None
    rss_peak_kib: int
    rss_peak_since_reset: bool
    queries: list
    batch_times: list
    summary: str
    allocations_made: int
    entries_settled: int
    profile: str = ""

    @property
    def sql_seconds(self):
        return sum(float(q["time"]) for q in self.queries)


def measure(label, business_date, *, batch, trace_memory=False, profile=False):
    """One settlement_run, with everything measured around it."""
    connection.close()
    reset_queries()
    gc.collect()
    rss_reset = reset_peak_rss()
    rss_before = read_status_kib("VmRSS")

    batch_times = []
    profiler = cProfile.Profile() if profile else None
    with CaptureQueriesContext(connection) as captured:
        if trace_memory:
            tracemalloc.start()
        start = time.perf_counter()

        def progress(done, total):
            batch_times.append((time.perf_counter() - start, done, total))

        if profiler:
            profiler.enable()
        report = settlement_run(business_date=business_date, batch_patrons=batch, progress=progress)
        wall = time.perf_counter() - start
        if profiler:
            profiler.disable()
        python_peak = tracemalloc.get_traced_memory()[1] if trace_memory else None
        if trace_memory:
            tracemalloc.stop()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    queries = list(captured.captured_queries)
    if len(connection.queries_log) >= connection.queries_limit:
        say(f"  WARNING: more than {connection.queries_limit} queries; the count is truncated.")
    profile_text = ""
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        profile_text = out.getvalue()
    s = report.settlement
    return RunResult(
        label=label,
        business_date=business_date,
        batch=batch,
        wall=wall,
        python_peak=python_peak,
        rss_before_kib=rss_before,
        rss_peak_kib=rss_peak,
        rss_peak_since_reset=rss_reset,
        queries=queries,
        batch_times=batch_times,
        summary=report.summary(),
        allocations_made=s.allocations_made,
        entries_settled=s.entries_settled,
        profile=profile_text,
    )


def print_run(result, brief=False):
    say(
        f"\n== {result.label}: settlement_run(business_date={result.business_date}, "
        f"batch_patrons={result.batch}) =="
    )
    say(f"  {result.summary}")
    if brief:
        say(f"  wall time (traced)   {result.wall:8.2f} s")
        say(f"  Python peak (tracemalloc) {mib(result.python_peak):7.1f} MiB")
        say(f"  max RSS (traced run) {result.rss_peak_kib / 1024:8.1f} MiB")
        say(f"  SQL queries          {len(result.queries):8d}")
        sql_text = sum(len(q["sql"] or "") for q in result.queries)
        say(f"  (of the peak, {mib(sql_text):.1f} MiB is SQL text held by the query capture)")
        return
    n_batches = len(result.batch_times)
    say(f"  wall time            {result.wall:8.2f} s")
    statements = [q for q in result.queries if not TRANSACTION_CONTROL.match(q["sql"])]
    say(
        f"  SQL queries          {len(result.queries):8d}  ({len(statements)} statements + "
        f"{len(result.queries) - len(statements)} BEGIN/COMMIT/SAVEPOINT/RELEASE)"
    )
    say(
        f"  SQL time             {result.sql_seconds:8.2f} s  (incl. COMMITs, as Django times them)"
    )
    say(f"  Python & rest        {result.wall - result.sql_seconds:8.2f} s")
    if result.python_peak is not None:
        say(f"  Python peak (tracemalloc) {mib(result.python_peak):7.1f} MiB")
    rss_scope = "during the run" if result.rss_peak_since_reset else "process lifetime"
    say(
        f"  max RSS ({rss_scope}) {result.rss_peak_kib / 1024:7.1f} MiB "
        f"(RSS before the run {(result.rss_before_kib or 0) / 1024:.1f} MiB)"
    )
    say(f"  patron batches       {n_batches:8d}")
    say(f"  entries settled      {result.entries_settled:8d}")
    say(f"  allocations made     {result.allocations_made:8d}")
    if n_batches:
        times = [t for t, _, _ in result.batch_times]
        durations = [b - a for a, b in zip([0.0, *times], times, strict=False)]
        say("  seconds per batch    " + " ".join(f"{d:.2f}" for d in durations))
    by_label = defaultdict(lambda: [0, 0.0, 0.0])
    for query in result.queries:
        entry = by_label[label_of(query["sql"])]
        seconds = float(query["time"])
        entry[0] += 1
        entry[1] += seconds
        entry[2] = max(entry[2], seconds)
    say(f"  {'query':<28} {'count':>6} {'total s':>8} {'max s':>7}")
    for name, (count, total, longest) in sorted(by_label.items(), key=lambda kv: -kv[1][1]):
        say(f"  {name:<28} {count:>6} {total:>8.2f} {longest:>7.3f}")
    if result.profile:
        say("\n  cProfile, top 30 by cumulative time:")
        say(result.profile)


# --- reference -----------------------------------------------------------------------

REFERENCE_TABLE = "bench_reference_insert"
REFERENCE_RUNS = 3
TARGET_RATIO = 5


def checkpoint():
    with raw_connect(autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def measure_reference(business_date):
    """What the server takes to write as many rows as the settlement settles, the plain way:
    one INSERT ... SELECT of the entries to be settled into a regular, logged table with the
    columns, CHECK constraint and indexes of fees_allocation (no foreign keys), committed.

    Each run starts after a CHECKPOINT, as the settlement does; the median is the reference.
    Returns (median seconds, all runs, rows).
    """
    times = []
    for _ in range(REFERENCE_RUNS):
        with raw_connect() as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(REFERENCE_TABLE)))
            conn.execute(
                sql.SQL("CREATE TABLE {} (LIKE fees_allocation INCLUDING ALL)").format(
                    sql.Identifier(REFERENCE_TABLE)
                )
            )
            conn.commit()
            checkpoint()
            start = time.perf_counter()
            rows = conn.execute(
                sql.SQL(
                    "INSERT INTO {} (settlement_id, credit_id, debit_id, amount_cents) "
                    "SELECT 0, id, id, abs(amount_cents) FROM fees_journalentry "
                    "WHERE settled_in_id IS NULL AND business_date <= %s"
                ).format(sql.Identifier(REFERENCE_TABLE)),
                [business_date],
            ).rowcount
            conn.commit()
            times.append(time.perf_counter() - start)
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(REFERENCE_TABLE)))
            conn.commit()
    # The settlement that follows starts from a checkpoint too.
    checkpoint()
    return sorted(times)[len(times) // 2], times, rows


# --- checks --------------------------------------------------------------------------

CHECKS = [
    (
        "every entry up to the date is settled",
        """SELECT count(*) FROM fees_journalentry
           WHERE settled_in_id IS NULL AND business_date <= %(date)s""",
    ),
    (
        "no debit over-allocated",
        """SELECT count(*) FROM (SELECT debit_id, sum(amount_cents) AS total
                                 FROM fees_allocation GROUP BY debit_id) AS a
           JOIN fees_journalentry AS d ON d.id = a.debit_id
           WHERE a.total > d.amount_cents""",
    ),
    (
        "no credit over-allocated",
        """SELECT count(*) FROM (SELECT credit_id, sum(amount_cents) AS total
                                 FROM fees_allocation GROUP BY credit_id) AS a
           JOIN fees_journalentry AS c ON c.id = a.credit_id
           WHERE a.total > -c.amount_cents""",
    ),
    (
        "allocations pair a credit and a debit of one patron",
        """SELECT count(*) FROM fees_allocation AS a
           JOIN fees_journalentry AS c ON c.id = a.credit_id
           JOIN fees_journalentry AS d ON d.id = a.debit_id
           WHERE c.amount_cents >= 0 OR d.amount_cents <= 0 OR c.patron_id <> d.patron_id""",
    ),
    (
        "cleared_in set exactly when fully allocated (settled entries)",
        """SELECT count(*) FROM fees_journalentry AS e
           LEFT JOIN (SELECT debit_id AS id, sum(amount_cents) AS total FROM fees_allocation
                      GROUP BY debit_id
                      UNION ALL
                      SELECT credit_id, sum(amount_cents) FROM fees_allocation
                      GROUP BY credit_id) AS a ON a.id = e.id
           WHERE e.settled_in_id IS NOT NULL
             AND (e.cleared_in_id IS NOT NULL) <> (coalesce(a.total, 0) = abs(e.amount_cents))""",
    ),
    (
        "no patron left with both open debit and open credit",
        """SELECT count(*) FROM (
               SELECT e.patron_id
               FROM fees_journalentry AS e
               WHERE e.settled_in_id IS NOT NULL AND e.cleared_in_id IS NULL
               GROUP BY e.patron_id
               HAVING bool_or(e.amount_cents > 0) AND bool_or(e.amount_cents < 0)) AS both_open""",
    ),
    (
        "waivers of the date landed on their fee",
        """SELECT count(*) FROM fees_journalentry AS w
           LEFT JOIN fees_allocation AS a ON a.credit_id = w.id AND a.debit_id = w.target_id
           WHERE w.kind = 'waiver' AND w.business_date = %(date)s
             AND coalesce(a.amount_cents, 0) <> -w.amount_cents""",
    ),
    (
        "settlement totals match the ledger",
        """SELECT count(*) FROM fees_settlement AS s
           WHERE s.business_date = %(date)s AND (
               s.finished_at IS NULL
               OR s.entries_settled <> (SELECT count(*) FROM fees_journalentry
                                        WHERE settled_in_id = s.id)
               OR s.allocations_made <> (SELECT count(*) FROM fees_allocation
                                         WHERE settlement_id = s.id))""",
    ),
]


def verify(business_date):
    ok = True
    with raw_connect() as conn:
        for description, query in CHECKS:
            (bad,) = conn.execute(query, {"date": business_date}).fetchone()
            ok = ok and bad == 0
            say(
                f"  {'OK  ' if bad == 0 else 'FAIL'} {description}"
                + ("" if bad == 0 else f" ({bad} offending rows)")
            )
    return ok


def ledger_counts():
    with raw_connect() as conn:
        return conn.execute(
            """SELECT (SELECT count(*) FROM accounts_patron),
                      (SELECT count(*) FROM fees_journalentry),
                      (SELECT count(*) FROM fees_journalentry WHERE settled_in_id IS NULL),
                      (SELECT count(*) FROM fees_journalentry
                       WHERE settled_in_id IS NOT NULL AND cleared_in_id IS NULL),
                      (SELECT count(*) FROM fees_allocation),
                      (SELECT count(*) FROM fees_journalentry_for_fees),
                      pg_size_pretty(pg_database_size(current_database()))"""
        ).fetchone()


# --- main ----------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patrons", type=int, default=20_000, help="patrons (default 20000)")
    parser.add_argument(
        "--history", type=int, default=1_000_000, help="settled history entries (default 1000000)"
    )
    parser.add_argument(
        "--entries",
        type=int,
        default=100_000,
        help="unsettled entries on the benchmark day (default 100000)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=settings.SETTLEMENT_BATCH_PATRONS,
        help="batch_patrons for settlement_run (default "
        f"{settings.SETTLEMENT_BATCH_PATRONS}, from settings)",
    )
    parser.add_argument(
        "--compare-entries",
        type=int,
        default=None,
        help="entries on the second, smaller day (default: one per patron; 0 skips it)",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--no-tracemalloc",
        action="store_true",
        help="skip the second, traced run on a copy of the database",
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile the timed run with cProfile (slows it down)"
    )
    args = parser.parse_args()
    compare_entries = args.patrons if args.compare_entries is None else args.compare_entries
    if min(args.patrons, args.entries, args.batch) < 1 or args.history < 0:
        parser.error("sizes must be positive")

    tz = ZoneInfo(settings.TIME_ZONE)
    today = timezone.localdate()
    bench_date = today - datetime.timedelta(days=1)
    history_date = bench_date - datetime.timedelta(days=1)
    rng = random.Random(args.seed)
    total_start = time.perf_counter()

    name = bench_database_name(
        "settlement",
        "Refusing to drop database {name!r}: the benchmark only drops databases whose "
        "name contains 'bench'. Set DATABASE_URL to a scratch database.",
    )
    say(
        f"Settlement benchmark on {name}@{connection.settings_dict.get('HOST') or 'local'} "
        f"(PostgreSQL), {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"Django {django.get_version()}"
    )
    say(
        f"Sizes: {args.patrons} patrons, {args.history} history entries, {args.entries} "
        f"entries on {bench_date}, batch_patrons={args.batch}, seed={args.seed}"
    )

    say("\nSetting up:")
    with step("drop, create and migrate the database"):
        recreate_database(name, migrate=False)
        call_command("migrate", verbosity=0, interactive=False)
        connection.close()
    ds = Dataset()
    with raw_connect() as conn:
        with bulk_load(conn, LOADED_TABLES, dropped=BACKING_NO_CONSTRAINT):
            with step(f"{args.patrons} patrons"):
                load_patrons(conn, args.patrons)
            with step(f"history up to {history_date} (one finished settlement)"):
                history_rows = load_history(
                    conn,
                    rng,
                    ds,
                    patrons=args.patrons,
                    history=args.history,
                    history_date=history_date,
                    tz=tz,
                )
            with step(f"{args.entries} unsettled entries on {bench_date}"):
                kinds, _, n_patrons_day = load_day(
                    conn,
                    rng,
                    ds,
                    patrons=args.patrons,
                    entries=args.entries,
                    day=bench_date,
                    tz=tz,
                    old_open_fees=ds.old_open_fees,
                )
            reset_sequences(conn)
        with step("commit"):
            conn.commit()
    with step("VACUUM ANALYZE, CHECKPOINT"):
        vacuum_analyze()
    patrons, entries, unsettled, open_settled, allocations, paid_for, size = ledger_counts()
    say(
        f"Ledger: {patrons} patrons, {entries} journal entries ({history_rows} history, "
        f"{open_settled} of them settled but still open), {allocations} allocations, "
        f"database {size}"
    )
    say(
        f"Day {bench_date}: {unsettled} unsettled entries of {n_patrons_day} patrons: "
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        + f"; {paid_for} paid-for links"
    )

    trace = not args.no_tracemalloc
    memory_db = f"{name}_mem"
    if trace:
        # tracemalloc slows Python code down, so the timed run goes untraced and an identical
        # copy of the database is settled again with tracing on, for the memory figure.
        with step(f"copy the database to {memory_db} for the memory run"):
            recreate_database(memory_db, template=name, migrate=False)
            os.sync()  # write the copy out now, not while the timed run is going

    with step(f"reference: INSERT ... SELECT into a table like fees_allocation, {REFERENCE_RUNS}x"):
        reference, reference_runs, reference_rows = measure_reference(bench_date)

    main_run = measure("Benchmark day", bench_date, batch=args.batch, profile=args.profile)
    print_run(main_run)
    ratio = main_run.wall / reference
    say(
        f"  reference            {reference:8.2f} s  (INSERT ... SELECT of {reference_rows} rows, "
        f"median of {', '.join(f'{t:.2f}' for t in reference_runs)} s)"
    )
    say(f"  settlement / reference {ratio:6.2f}  (target <= {TARGET_RATIO})")
    say("\nChecks:")
    all_ok = verify(bench_date)

    memory_run = None
    if trace:
        with using_database(memory_db):
            memory_run = measure(
                "Memory run (same day, copy of the database, tracemalloc on)",
                bench_date,
                batch=args.batch,
                trace_memory=True,
            )
            print_run(memory_run, brief=True)
            say("\nChecks:")
            all_ok = verify(bench_date) and all_ok
        drop_database(memory_db)

    compare_run = None
    if compare_entries:
        say(
            f"\nSecond day {today}: {compare_entries} entries for the same {args.patrons} "
            "patrons (same patron batches, fewer entries per patron):"
        )
        with raw_connect() as conn:
            with step(f"{compare_entries} unsettled entries on {today}"):
                load_day(
                    conn,
                    rng,
                    ds,
                    patrons=args.patrons,
                    entries=compare_entries,
                    day=today,
                    tz=tz,
                    old_open_fees={},
                )
            reset_sequences(conn)
            conn.commit()
        with step("VACUUM ANALYZE, CHECKPOINT"):
            vacuum_analyze()
        compare_run = measure("Second day", today, batch=args.batch)
        print_run(compare_run)
        say("\nChecks:")
        all_ok = verify(today) and all_ok

    say("\n== Summary ==")
    say(
        f"  {'run':<14} {'entries':>8} {'batches':>7} {'wall s':>7} {'SQL s':>6} "
        f"{'queries':>7} {'stmts':>5} {'chunked writes':>14} {'allocations':>11}"
    )
    for run in (main_run, compare_run):
        if run is None:
            continue
        statements = sum(1 for q in run.queries if not TRANSACTION_CONTROL.match(q["sql"]))
        chunked = chunked_writes(run)
        say(
            f"  {run.label:<14} {run.entries_settled:>8} {len(run.batch_times):>7} "
            f"{run.wall:>7.2f} {run.sql_seconds:>6.2f} {len(run.queries):>7} {statements:>5} "
            f"{chunked:>14} {run.allocations_made:>11}"
        )
    say(
        f"  benchmark day {main_run.wall:.2f} s / INSERT ... SELECT of {reference_rows} rows "
        f"{reference:.2f} s = {ratio:.2f} (target <= {TARGET_RATIO}: "
        f"{'met' if ratio <= TARGET_RATIO else 'NOT met'})"
    )
    if memory_run:
        say(
            f"  Python peak (tracemalloc, benchmark day): {mib(memory_run.python_peak):.1f} MiB "
            f"(wall time with tracing {memory_run.wall:.2f} s)"
        )
    say(
        f"  max RSS during the benchmark-day run: {main_run.rss_peak_kib / 1024:.1f} MiB"
        + ("" if main_run.rss_peak_since_reset else " (process lifetime)")
        + (f"; {memory_run.rss_peak_kib / 1024:.1f} MiB traced" if memory_run else "")
    )
    if compare_run:
        fixed = [len(r.queries) - chunked_writes(r) for r in (main_run, compare_run)]
        if len(main_run.batch_times) != len(compare_run.batch_times):
            verdict = "not comparable: the two days have different numbers of patron batches"
        elif fixed[0] == fixed[1]:
            verdict = "independent of the number of entries"
        else:
            verdict = "DIFFERENT for the same batches"
        say(
            f"  queries apart from extra write statements: {fixed[0]} vs {fixed[1]} "
            f"for {main_run.entries_settled} vs {compare_run.entries_settled} entries -> {verdict}"
        )

    say(
        f"\nResult: {'OK' if all_ok else 'FAIL'}  (whole benchmark "
        f"{time.perf_counter() - total_start:.0f} s)"
    )
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
