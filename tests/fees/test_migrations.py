"""The move to fee owners (fees 0007, payments 0011) from the single-library schema as it
landed: every entry and order is kept, and is the default owner's."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("fees", "0006_delivery_lease"), ("payments", "0010_event_kinds")]
AFTER = [("fees", "0007_owners"), ("payments", "0011_order_owner")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def single_library(transactional_db):
    """A patron with a fee and a paid order, written with the models as they were."""
    apps = migrate(BEFORE)
    user = apps.get_model("auth", "User").objects.create(username="anna")
    patron = apps.get_model("accounts", "Patron").objects.create(
        user=user, user_number="U-1", card_number="1", last_name="Berger"
    )
    journal = apps.get_model("fees", "JournalEntry").objects
    now = timezone.now()
    common = {"patron": patron, "currency": "EUR", "booked_at": now,
              "business_date": datetime.date.today()}  # fmt: skip
    fee = journal.create(kind="fee", amount_cents=500, description="Overdue fine", **common)
    payment = journal.create(kind="payment", amount_cents=-500, **common)
    apps.get_model("payments", "PaymentOrder").objects.create(
        reference="EP-AAAA-AAAA", patron=patron, amount_cents=500, currency="EUR",
        provider="simulated", mode="test", status="Paid", payment_entry=payment,
    )  # fmt: skip
    yield fee.pk, payment.pk
    # Every app back at its latest migration: going back also undid the ones built on these.
    executor = MigrationExecutor(connection)
    migrate(executor.loader.graph.leaf_nodes())


def test_the_migration_keeps_every_entry_and_order_as_the_default_owners(single_library, settings):
    fee_id, payment_id = single_library

    apps = migrate(AFTER)

    owners = apps.get_model("fees", "Owner").objects
    journal = apps.get_model("fees", "JournalEntry").objects
    order = apps.get_model("payments", "PaymentOrder").objects.get()
    (default,) = owners.all()
    assert (default.code, default.is_default, default.name_en) == ("default", True, "")
    assert list(journal.order_by("pk").values_list("pk", "amount_cents", "owner_id")) == [
        (fee_id, 500, None),
        (payment_id, -500, None),
    ]
    assert (order.reference, order.status, order.owner_id) == ("EP-AAAA-AAAA", "Paid", None)


def test_the_journal_stays_append_only_after_the_migration(single_library):
    apps = migrate(AFTER)
    journal = apps.get_model("fees", "JournalEntry").objects

    with pytest.raises(Exception, match="append-only"):
        journal.filter(kind="fee").update(owner=apps.get_model("fees", "Owner").objects.get())
