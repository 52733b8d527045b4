"""What a settlement batch reads and writes.

Batches name up to thousands of patrons and entries. On PostgreSQL each such list
travels as one array parameter (`= ANY`, `unnest`), not as thousands of placeholders
the driver and the ORM would each handle one by one, and every write of a batch is
one statement whatever its size: the allocations are one `INSERT ... SELECT FROM
unnest`, the marks one UPDATE, so no journal row gets a second version in a batch.
SQLite (the tests) takes the portable path; both write the same rows.
"""

from collections import defaultdict

from django.db import connection

from accounts.models import Patron
from fees.models import Allocation, JournalEntry, PaymentShare
from fees.selectors import fee_of_debit, reopened_fee_sql

WRITE_CHUNK = 5000

JOURNAL = JournalEntry._meta.db_table
FOR_FEES = JournalEntry.for_fees.through._meta.db_table
SHARE = PaymentShare._meta.db_table
ALLOCATION = Allocation._meta.db_table

# (id, patron_id, kind, amount_cents, target_id, settled_in_id), in booking order.
Row = tuple[int, int, str, int, int | None, int | None]


def lock_patrons(patron_ids: list[int]) -> None:
    # SQLite has no row locks: there the run-long IMMEDIATE transaction keeps bookings out.
    if connection.features.has_select_for_update:
        where, params = _one_of("id", patron_ids)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {Patron._meta.db_table} WHERE {where} ORDER BY id FOR UPDATE",
                params,
            )
            cursor.fetchall()


def open_entries(patron_ids: list[int], business_date) -> list[Row]:
    """The batch's entries not yet fully offset, new ones and those carried forward."""
    where, params = _one_of("patron_id", patron_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, patron_id, kind, amount_cents, target_id, settled_in_id "
            f"FROM {JOURNAL} WHERE {where} AND cleared_in_id IS NULL AND business_date <= %s "
            "ORDER BY booked_at, id",
            [*params, connection.ops.adapt_datefield_value(business_date)],
        )
        return cursor.fetchall()


def allocated_before(entry_ids: list[int]) -> dict[int, int]:
    """What earlier settlements allocated to these entries, as debit or as credit."""
    totals = defaultdict(int)
    if not entry_ids:
        return totals
    debit_in, debit_params = _one_of("debit_id", entry_ids)
    credit_in, credit_params = _one_of("credit_id", entry_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT debit_id, SUM(amount_cents) FROM {ALLOCATION} WHERE {debit_in} "
            "GROUP BY debit_id UNION ALL "
            f"SELECT credit_id, SUM(amount_cents) FROM {ALLOCATION} WHERE {credit_in} "
            "GROUP BY credit_id",
            [*debit_params, *credit_params],
        )
        # PostgreSQL sums bigints as numeric: back to whole cents.
        for entry_id, total in cursor.fetchall():
            totals[entry_id] += int(total)
    return totals


def paid_for(patron_ids: list[int]) -> dict[int, list[int]]:
    """The fees each unsettled payment of the batch was made for, in the order linked."""
    where, params = _one_of("p.patron_id", patron_ids)
    fees = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT f.from_journalentry_id, f.to_journalentry_id FROM {FOR_FEES} AS f "
            f"JOIN {JOURNAL} AS p ON p.id = f.from_journalentry_id "
            f"WHERE {where} AND p.settled_in_id IS NULL ORDER BY f.id",
            params,
        )
        for payment_id, fee_id in cursor.fetchall():
            fees[payment_id].append(fee_id)
    return fees


def payment_shares(patron_ids: list[int]) -> dict[int, list[tuple[int | None, int]]]:
    """What each unsettled payment of the batch pays per fee, as the library system was
    told when it was booked (None: its part that was credit), in the order written."""
    where, params = _one_of("p.patron_id", patron_ids)
    shares = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.movement_id, s.fee_id, s.amount_cents FROM {SHARE} AS s "
            f"JOIN {JOURNAL} AS p ON p.id = s.movement_id "
            f"WHERE {where} AND p.kind = 'payment' AND p.settled_in_id IS NULL ORDER BY s.id",
            params,
        )
        for payment_id, fee_id, cents in cursor.fetchall():
            shares[payment_id].append((fee_id, cents))
    return shares


def fee_roots(patron_ids: list[int]) -> dict[int, int]:
    """The fee each of the batch's open debits belongs to (`fees.selectors.FeeGroup`), and
    that of each debit an unsettled waiver or reduction stands on: an increase its fee, a
    reversal the one fee it re-opens; a fee, or a debit of no one fee, itself."""
    where, params = _one_of("e.patron_id", patron_ids)
    targeted_where, targeted_params = _one_of("c.patron_id", patron_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.id, e.kind, e.target_id, {reopened_fee_sql('e')} "
            f"FROM {JOURNAL} AS e WHERE {where} AND e.kind IN ('fee', 'reversal') "
            "AND (e.cleared_in_id IS NULL OR e.id IN ("
            f"SELECT c.target_id FROM {JOURNAL} AS c WHERE {targeted_where} "
            "AND c.kind IN ('waiver', 'reduction') AND c.settled_in_id IS NULL))",
            [*params, *targeted_params],
        )
        return {row[0]: fee_of_debit(*row) for row in cursor.fetchall()}


def write(
    settlement_id: int,
    pairs: list[tuple[int, int, int]],
    marks: list[tuple[int, bool, bool]],
) -> None:
    """Write the allocations and mark the entries: `marks` holds
    (entry_id, newly settled, fully offset) for every entry that changes."""
    if connection.vendor == "postgresql":
        _write_postgresql(settlement_id, pairs, marks)
    else:
        _write_portable(settlement_id, pairs, marks)


def _write_postgresql(settlement_id, pairs, marks) -> None:
    with connection.cursor() as cursor:
        if pairs:
            credits, debits, cents = (_array(column) for column in zip(*pairs, strict=True))
            cursor.execute(
                f"INSERT INTO {ALLOCATION} (settlement_id, credit_id, debit_id, amount_cents) "
                "SELECT %s, u.credit, u.debit, u.cents "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS u(credit, debit, cents)",
                [settlement_id, credits, debits, cents],
            )
        if marks:
            ids, settled, cleared = (_array(column) for column in zip(*marks, strict=True))
            # An entry settled before keeps its mark: only cleared_in is new for it.
            cursor.execute(
                f"UPDATE {JOURNAL} AS e SET "
                "settled_in_id = CASE WHEN u.settled THEN %s ELSE e.settled_in_id END, "
                "cleared_in_id = CASE WHEN u.cleared THEN %s END "
                "FROM unnest(%s::bigint[], %s::boolean[], %s::boolean[]) "
                "AS u(id, settled, cleared) WHERE e.id = u.id",
                [settlement_id, settlement_id, ids, settled, cleared],
            )


def _write_portable(settlement_id, pairs, marks) -> None:
    Allocation.objects.bulk_create(
        (
            Allocation(settlement_id=settlement_id, credit_id=c, debit_id=d, amount_cents=a)
            for c, d, a in pairs
        ),
        batch_size=WRITE_CHUNK,
    )
    groups = defaultdict(list)
    for entry_id, settled, cleared in marks:
        groups[settled, cleared].append(entry_id)
    for (settled, cleared), ids in groups.items():
        fields = {}
        if settled:
            fields["settled_in_id"] = settlement_id
        if cleared:
            fields["cleared_in_id"] = settlement_id
        for start in range(0, len(ids), WRITE_CHUNK):
            JournalEntry.objects.filter(pk__in=ids[start : start + WRITE_CHUNK]).update(**fields)


def _one_of(column: str, ids) -> tuple[str, list]:
    """SQL for "`column` is one of `ids`", and its parameters."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [_array(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _array(values) -> str:
    """A PostgreSQL array literal, sent as one string parameter."""
    if values and isinstance(values[0], bool):
        return "{" + ",".join("t" if value else "f" for value in values) + "}"
    return "{" + ",".join(map(str, values)) + "}"
