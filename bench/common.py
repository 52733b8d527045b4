"""What the benchmark scripts share: Django on a PostgreSQL database of their own, that
database dropped and loaded fast, and the progress lines they print."""

import contextlib
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(database: str, **environ) -> None:
    """Django against postgres://postgres@127.0.0.1:5432/<database> unless DATABASE_URL says;
    `environ` are further defaults for the environment (a variable already set wins)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{database}")
    for name, value in environ.items():
        os.environ.setdefault(name, value)
    import django

    django.setup()


def say(message=""):
    print(message, flush=True)


@contextlib.contextmanager
def step(label):
    start = time.perf_counter()
    print(f"  {label} ...", end="", flush=True)
    yield
    print(f" {time.perf_counter() - start:.1f} s", flush=True)


def conninfo(dbname=None):
    """Django's database (or `dbname` on the same server) for psycopg."""
    import psycopg
    from django.db import connection

    db = connection.settings_dict
    params = {
        "dbname": dbname or db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
    }
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v})


def raw_connect(dbname=None, autocommit=False):
    """A psycopg connection in the portal's time zone, for the set-based loaders."""
    import psycopg
    from django.conf import settings
    from psycopg import sql

    conn = psycopg.connect(conninfo(dbname), autocommit=autocommit)
    conn.execute(sql.SQL("SET TimeZone = {}").format(sql.Literal(settings.TIME_ZONE)))
    return conn


REFUSAL = "Refusing to drop {name!r}: the benchmark database name must contain 'bench'."


def bench_database_name(benchmark: str, refusal: str = REFUSAL) -> str:
    """Django's database, if it is a PostgreSQL one this benchmark may drop."""
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit(f"The {benchmark} benchmark needs PostgreSQL; set DATABASE_URL=postgres://...")
    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        sys.exit(refusal.format(name=name))
    return name


def recreate_database(name=None, *, template=None, migrate=True) -> None:
    """DROP and CREATE `name` (Django's database by default; a copy of `template` if
    given) from the maintenance database, then migrate it unless told not to."""
    from django.core.management import call_command
    from django.db import connection
    from psycopg import sql

    name = name or connection.settings_dict["NAME"]
    if "bench" not in name:
        sys.exit(REFUSAL.format(name=name))
    drop_database(name)
    with raw_connect("postgres", autocommit=True) as admin:
        if template:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        else:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    if migrate:
        call_command("migrate", verbosity=0)


def drop_database(name) -> None:
    from django.db import connection
    from psycopg import sql

    connection.close()
    with raw_connect("postgres", autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# Which indexes a bulk load drops and rebuilds: every one that is not unique, or (more)
# every one that backs no primary-key, unique or exclusion constraint.
NOT_UNIQUE = "NOT i.indisunique AND NOT i.indisprimary"
BACKING_NO_CONSTRAINT = """NOT EXISTS (SELECT 1 FROM pg_constraint AS c
                          WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))"""


@contextlib.contextmanager
def bulk_load(conn, tables, *, dropped=NOT_UNIQUE, work_mem=None, commit=False):
    """Load `tables` fast: no row-by-row foreign-key triggers and no index upkeep.

    The `dropped` indexes are rebuilt at the end; foreign keys are checked once,
    set-based, instead of by a trigger per row (session_replication_role needs a
    superuser; without it the load just runs slower). Primary keys, the indexes kept and
    CHECK constraints stay in force throughout. With `commit`, the drops and the rebuild
    are committed each.
    """
    import psycopg
    from psycopg import sql

    try:
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
        replica = True
    except psycopg.errors.InsufficientPrivilege:
        replica = False
    if replica:
        conn.execute("SET session_replication_role = replica")
    conn.execute("SET maintenance_work_mem = '256MB'")
    if work_mem:
        conn.execute(f"SET work_mem = '{work_mem}'")
    indexes = conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index AS i"
        f" WHERE i.indrelid = ANY(%s::regclass[]) AND {dropped}",
        [list(tables)],
    ).fetchall()
    for name, _ in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    if commit:
        conn.commit()
    yield
    with step(f"rebuild {len(indexes)} indexes" + (", check foreign keys" if replica else "")):
        for _, definition in indexes:
            conn.execute(definition)
        if replica:
            conn.execute("SET session_replication_role = DEFAULT")
            check_foreign_keys(conn, tables)
        if commit:
            conn.commit()


def check_foreign_keys(conn, tables):
    """What the skipped foreign-key triggers would have checked, one anti-join per key."""
    from psycopg import sql

    keys = conn.execute(
        """
        SELECT c.conname, c.conrelid::regclass::text, a.attname,
               c.confrelid::regclass::text, fa.attname
        FROM pg_constraint AS c
        JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute AS fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[])
        """,
        [list(tables)],
    ).fetchall()
    for name, table, column, ref_table, ref_column in keys:
        query = sql.SQL(
            "SELECT count(*) FROM {t} AS x WHERE x.{c} IS NOT NULL AND NOT EXISTS "
            "(SELECT FROM {rt} AS r WHERE r.{rc} = x.{c})"
        ).format(
            t=sql.Identifier(table),
            c=sql.Identifier(column),
            rt=sql.Identifier(ref_table),
            rc=sql.Identifier(ref_column),
        )
        (orphans,) = conn.execute(query).fetchone()
        if orphans:
            raise RuntimeError(f"the generated data breaks foreign key {name}: {orphans} rows")


def order_awaiting_stripe(fee, transaction_id: str):
    """An order for `fee` that Stripe has not confirmed yet, as checkout leaves it."""
    from payments.models import OrderFee, OrderStatus, PaymentEvent, PaymentOrder
    from payments.reference import new_reference

    order = PaymentOrder.objects.create(
        reference=new_reference(), patron_id=fee.patron_id, amount_cents=fee.amount_cents,
        currency="EUR", provider="stripe", mode="test", status=OrderStatus.CREATED_AT_PROVIDER,
        provider_transaction_id=transaction_id,
    )  # fmt: skip
    OrderFee.objects.create(order=order, fee=fee, amount_cents=fee.amount_cents)
    PaymentEvent.objects.create(order=order, status=OrderStatus.CREATED, source="portal")
    return order


def signed_completion(order) -> tuple[str, str]:
    """Stripe's checkout.session.completed for the order, paid in full: body and signature."""
    import json
    import time

    import stripe
    from django.conf import settings

    session = {
        "id": order.provider_transaction_id, "object": "checkout.session",
        "client_reference_id": order.reference, "amount_total": order.amount_cents,
        "currency": "eur", "payment_status": "paid", "status": "complete",
        "payment_intent": f"pi_bench_{order.pk}", "payment_method_types": ["card"],
        "metadata": {"order_reference": order.reference},
    }  # fmt: skip
    event = {
        "id": f"evt_bench_{order.pk}", "object": "event", "type": "checkout.session.completed",
        "created": int(time.time()), "data": {"object": session}, "livemode": False,
    }  # fmt: skip
    body = json.dumps(event)
    return body, stripe.WebhookSignature.generate_signature_header(
        body, settings.STRIPE_WEBHOOK_SECRET
    )


FIRST_NAMES = ["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hannes", "Ida", "Jonas"]
LAST_NAMES = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
]


def load_patrons(conn, patrons):
    """`patrons` users and patrons with ids 1 to N, user numbers 00000001 on."""
    conn.execute(
        """
        INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name,
                               email, is_staff, is_active, date_joined)
        SELECT i, '!', false, 'patron-' || lpad(i::text, 8, '0'), '', '', '', false, true,
               now() - interval '3 years'
        FROM generate_series(1, %(n)s) AS i
        """,
        {"n": patrons},
    )
    conn.execute(
        """
        INSERT INTO accounts_patron (id, user_id, user_number, card_number, first_name,
                                     last_name, email, created_at)
        SELECT i, i, lpad(i::text, 8, '0'), '2900' || lpad(i::text, 10, '0'),
               (%(first)s::text[])[1 + i %% cardinality(%(first)s::text[])],
               (%(last)s::text[])[1 + (i / 7) %% cardinality(%(last)s::text[])],
               '', now() - interval '3 years'
        FROM generate_series(1, %(n)s) AS i
        """,
        {"n": patrons, "first": FIRST_NAMES, "last": LAST_NAMES},
    )
