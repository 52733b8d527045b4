"""Writing a batch on PostgreSQL, set-based: the batch's good rows are copied into a
temporary staging table, and the patrons not here yet and the fees not here yet are
inserted from it with INSERT ... SELECT, each in one statement for the whole batch.
Python sees only what needs its attention: the refused patrons' rows and the fees here
already whose patron or amount differ."""

import contextlib
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection
from django.utils import timezone

from accounts.models import Patron
from fees.importing.booking import (
    CARD_TAKEN,
    JOURNAL_COLUMNS,
    PATRON_ID_TAKEN,
    SOURCE_SYSTEM,
    USERNAME_TAKEN,
    ImportSummary,
    refusal,
    take_known,
    username_for,
)
from fees.importing.rows import FeeRow
from fees.models import EntryKind, JournalEntry

STAGING = "import_fees_rows"
NEW_PATRONS = "import_fees_new_patrons"
# The staging table's columns are FeeRow's fields, in its order, so that a row is copied
# as it is.
STAGING_TYPES = {"line": "integer", "owner_id": "bigint", "amount_cents": "bigint"}
USERNAME_PREFIX = username_for("")

PATRON, USER = Patron._meta.db_table, get_user_model()._meta.db_table
JOURNAL = JournalEntry._meta.db_table
# The first row of each user number not a patron here: the patron to create, unless it is
# refused by booking's rules. Those taken here first; then, among the rest, in the order
# of their lines, the first to name a card number or library-system id claims it.
JUDGE_NEW_PATRONS = f"""
INSERT INTO {NEW_PATRONS}
WITH firsts AS (
    SELECT DISTINCT ON (user_number COLLATE "C") line, user_number, card_number,
        first_name, last_name, email, patron_id
    FROM {STAGING} ORDER BY user_number COLLATE "C", line
), wanted AS MATERIALIZED (  -- each patron's lookups made once, not once per use
    SELECT f.*, CASE
        WHEN EXISTS (SELECT FROM {PATRON} p WHERE p.card_number = f.card_number)
            THEN %(card)s
        WHEN f.patron_id <> '' AND EXISTS (
            SELECT FROM {PATRON} p WHERE p.source_system = %(system)s
            AND p.external_id = f.patron_id AND p.external_id <> ''
        ) THEN %(patron_id)s
        WHEN EXISTS (SELECT FROM {USER} u WHERE u.username = %(prefix)s || f.user_number)
            THEN %(username)s
    END AS taken
    FROM firsts f
    WHERE NOT EXISTS (SELECT FROM {PATRON} p WHERE p.user_number = f.user_number)
)
SELECT line, user_number, card_number, first_name, last_name, email, patron_id,
    COALESCE(taken, CASE
        WHEN row_number() OVER (
            PARTITION BY taken IS NULL, card_number COLLATE "C" ORDER BY line
        ) > 1 THEN %(card)s
        WHEN patron_id <> '' AND row_number() OVER (
            PARTITION BY taken IS NULL, patron_id COLLATE "C" ORDER BY line
        ) > 1 THEN %(patron_id)s
    END)
FROM wanted
"""
# An unusable password, as Django writes one: "!" and something random after it.
CREATE_USERS = f"""
INSERT INTO {USER} (password, last_login, is_superuser, username, first_name, last_name,
    email, is_staff, is_active, date_joined)
SELECT '!' || md5(random()::text), NULL, false, %(prefix)s || user_number, '', '', email,
    false, true, %(now)s
FROM {NEW_PATRONS} WHERE refused IS NULL ORDER BY line
"""
CREATE_PATRONS = f"""
INSERT INTO {PATRON} (user_id, user_number, card_number, first_name, last_name, email,
    source_system, external_id, created_at)
SELECT u.id, n.user_number, n.card_number, n.first_name, n.last_name, n.email,
    %(system)s::text,
    n.patron_id, %(now)s
FROM {NEW_PATRONS} n JOIN {USER} u ON u.username = %(prefix)s || n.user_number
WHERE n.refused IS NULL ORDER BY n.line
"""
# Whether the batch names a user number with no patron here: a look without sorting,
# which ends at the first one.
ANY_NEW_PATRON = f"""
SELECT EXISTS (
    SELECT FROM {STAGING} r
    WHERE NOT EXISTS (SELECT FROM {PATRON} p WHERE p.user_number = r.user_number)
)
"""
REFUSED_ROWS = f"""
SELECT r.line, n.user_number, n.refused
FROM {STAGING} r JOIN {NEW_PATRONS} n USING (user_number) WHERE n.refused IS NOT NULL
"""
NEW_FEE = {
    "patron_id": "m.patron", "kind": "%(fee)s::text", "amount_cents": "m.amount_cents",
    "currency": "%(currency)s::text", "booked_at": "%(now)s", "business_date": "%(today)s",
    "booked_by_id": "NULL", "fee_type": "m.fee_type", "description": "m.description",
    "item": "''", "method": "''", "reference": "''", "note": "''",
    "source_system": "%(system)s::text", "external_id": "m.fee_id",
    "external_type": "m.external_type", "booking_key": "''",
    "owner_id": "m.owner_id", "target_id": "NULL",
    "settled_in_id": "NULL", "cleared_in_id": "NULL",
}  # fmt: skip
# Each row of the batch with its patron (the refused have none) and the fee of its id here,
# if there is one: looked up once, for both what is booked and what is not. The fees not
# here are booked in the order of their patrons, so that the journal's indexes by patron,
# and the patron rows its foreign key checks at commit, are visited in order. The answer:
# how many were booked, and the fees here that are not the same as the export's (another
# patron's, or another amount) as JSON; the rest of what is here is left as it is.
BOOK_FEES = f"""
WITH matched AS MATERIALIZED (
    SELECT r.*, p.id AS patron, j.id AS here, j.patron_id AS patron_here,
        j.amount_cents AS amount_here
    FROM {STAGING} r
    JOIN {PATRON} p ON p.user_number = r.user_number
    LEFT JOIN {JOURNAL} j ON j.kind = %(fee)s AND j.source_system = %(system)s
        AND j.external_id = r.fee_id AND j.external_id <> ''
), booked AS (
    INSERT INTO {JOURNAL} ({", ".join(JOURNAL_COLUMNS)})
    SELECT {", ".join(NEW_FEE[column] for column in JOURNAL_COLUMNS)}
    FROM matched m WHERE m.here IS NULL
    ORDER BY m.patron, m.line
    RETURNING 1
)
SELECT (SELECT count(*) FROM booked), (
    SELECT COALESCE(json_agg(json_build_array(
        line, fee_id, here, patron_here = patron, amount_here, amount_cents
    ) ORDER BY line), '[]')
    FROM matched
    WHERE here IS NOT NULL AND (patron_here <> patron OR amount_here <> amount_cents)
)
"""


class Staged(NamedTuple):
    rows: int
    text: str


COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str | int) -> str:
    return value.translate(COPY_ESCAPES) if isinstance(value, str) else str(value)


class PostgresWriter:
    def __init__(self):
        self.analysed_at = -1
        columns = ", ".join(f"{name} {STAGING_TYPES.get(name, 'text')}" for name in FeeRow._fields)
        with connection.cursor() as cursor:
            # Temporary: nothing of it is logged, and it goes with the session.
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGING}, pg_temp.{NEW_PATRONS}")
            cursor.execute(f"CREATE TEMPORARY TABLE {STAGING} ({columns})")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {NEW_PATRONS} (line integer, user_number text,"
                " card_number text, first_name text, last_name text, email text,"
                " patron_id text, refused text)"
            )
            cursor.execute(f"CREATE INDEX ON {NEW_PATRONS} (user_number)")

    def close(self) -> None:
        # Gone with the session anyway; a connection that failed need not hear of it.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGING}, pg_temp.{NEW_PATRONS}")

    def stage(self, rows: list[FeeRow]) -> Staged:
        """The rows as COPY's text format has them, made in Python alone (so in the
        reader's thread). Every field is text or a number; only text with a tab, a line
        break or a backslash needs escaping, which one look at the whole batch finds."""
        text = "".join(["\t".join(map(str, row)) + "\n" for row in rows])
        if (
            text.count("\t") != (len(FeeRow._fields) - 1) * len(rows)
            or text.count("\n") != len(rows)
            or "\\" in text
            or "\r" in text
        ):
            text = "".join(["\t".join(map(_copy_text, row)) + "\n" for row in rows])
        return Staged(len(rows), text)

    def write(self, staged: Staged, summary: ImportSummary) -> None:
        """One batch; the caller holds it in one transaction."""
        now = timezone.now()
        params = {
            "fee": EntryKind.FEE.value, "system": SOURCE_SYSTEM, "prefix": USERNAME_PREFIX,
            "card": CARD_TAKEN, "patron_id": PATRON_ID_TAKEN, "username": USERNAME_TAKEN,
            "now": now, "today": timezone.localdate(now),
            "currency": settings.LIBRARY_CURRENCY,
        }  # fmt: skip
        with connection.cursor() as cursor:
            # Not emptied at commit: in a test's transaction the batches are savepoints.
            # A batch is small beside the tables it is looked up in, and these grow as it
            # runs: each row is looked up by index. Hash joins would read whole tables
            # per batch, which the planner prefers by its costs long after it is slower.
            # The batch's rows with their lookups are kept in memory rather than spilled.
            cursor.execute(
                f"TRUNCATE {STAGING}, {NEW_PATRONS}; SET LOCAL enable_hashjoin = off;"
                " SET LOCAL enable_mergejoin = off; SET LOCAL work_mem = '64MB'"
            )
            with cursor.cursor.copy(f"COPY {STAGING} FROM STDIN") as copy:
                copy.write(staged.text)
            refused = []
            cursor.execute(ANY_NEW_PATRON)
            if cursor.fetchone()[0]:  # after the first batches, seldom
                refused = self._new_patrons(cursor, params, summary)
            cursor.execute(BOOK_FEES, params)
            booked, different = cursor.fetchone()
        summary.fees_booked += booked
        summary.fees_unchanged += staged.rows - len(refused) - len(different) - booked
        for line, fee_id, pk, same_patron, amount_here, amount_cents in different:
            take_known(
                summary, line=line, fee_id=fee_id, pk=pk, same_patron=same_patron,
                amount_here=amount_here, amount_cents=amount_cents,
            )  # fmt: skip

    def _new_patrons(self, cursor, params: dict, summary: ImportSummary) -> list[tuple]:
        """The patrons of the batch not here yet created, or refused: their rows."""
        cursor.execute(JUDGE_NEW_PATRONS, params)
        cursor.execute(CREATE_USERS, params)
        cursor.execute(CREATE_PATRONS, params)
        summary.patrons_created += cursor.rowcount
        cursor.execute(f"SELECT EXISTS (SELECT FROM {NEW_PATRONS} WHERE refused IS NOT NULL)")
        if not cursor.fetchone()[0]:
            return []
        cursor.execute(REFUSED_ROWS)  # seldom: only then are the batch's rows looked through
        refused = cursor.fetchall()
        summary.bad.extend((line, refusal(number, why)) for line, number, why in refused)
        return refused

    def after(self, summary: ImportSummary, batch_size: int) -> None:
        """Before the first batch and after each commit: fresh statistics for the tables
        the import fills, at the start and whenever they have grown fourfold since. Without them
        PostgreSQL plans the next batch's lookups for the tables as it last saw them (empty,
        say), and scans them per row instead of seeking."""
        if self.analysed_at < 0 or summary.fees_booked >= 4 * self.analysed_at + batch_size:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {JOURNAL}, {PATRON}, {USER}")
            self.analysed_at = summary.fees_booked
