"""What the benchmark scripts share: Django on a PostgreSQL database of their own."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(database: str) -> None:
    """Django against postgres://postgres@127.0.0.1:5432/<database> unless DATABASE_URL says."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{database}")
    import django

    django.setup()


def recreate_database() -> None:
    """Drop, create and migrate the benchmark database (its name must contain 'bench')."""
    import psycopg
    from django.conf import settings
    from django.core.management import call_command

    name = settings.DATABASES["default"]["NAME"]
    if "bench" not in name:
        sys.exit(f"Refusing to drop {name!r}: the benchmark database name must contain 'bench'.")
    admin_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)


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
