"""Money received before money records existed becomes money records (data only; the
field it replaces is removed in the next migration, in a transaction of its own)."""

from django.db import migrations, models

PAID = ("Paid", "Underpaid")


def records_for_existing_orders(apps, schema_editor):
    """Money received before money records existed: one record per booked payment, per
    payment after a cancellation waiting for staff, and per further payment reported."""
    PaymentOrder = apps.get_model("payments", "PaymentOrder")
    PaymentEvent = apps.get_model("payments", "PaymentEvent")
    MoneyReport = apps.get_model("payments", "MoneyReport")
    orders = PaymentOrder.objects.filter(
        models.Q(payment_entry__isnull=False)
        | models.Q(status__in=PAID)
        | models.Q(extra_payment_cents__isnull=False)
    ).select_related("payment_entry")
    for order in orders.iterator():
        paid = PaymentEvent.objects.filter(order=order, status__in=PAID).order_by("at", "id").first()
        source = paid.source if paid else "staff"
        origin = {}
        if source == "provider" and order.provider_transaction_id:
            origin = {"provider": order.provider, "external_id": order.provider_transaction_id}
        common = {
            "patron_id": order.patron_id,
            "order": order,
            "currency": order.currency,
            "payment_method": order.payment_method,
            "received_at": paid.at if paid else order.updated_at,
        }
        if order.payment_entry_id:
            MoneyReport.objects.create(
                amount_cents=-order.payment_entry.amount_cents,
                source=source,
                entry_id=order.payment_entry_id,
                **origin,
                **common,
            )
        elif order.status in PAID:
            MoneyReport.objects.create(
                amount_cents=(paid.amount_cents if paid else None) or order.amount_cents,
                source=source,
                hold="after_cancellation",
                **origin,
                **common,
            )
        if order.extra_payment_cents:
            MoneyReport.objects.create(
                amount_cents=order.extra_payment_cents,
                source="api",
                hold="further_payment",
                **common,
            )



class Migration(migrations.Migration):
    dependencies = [("payments", "0004_money_reports")]

    operations = [
        migrations.RunPython(records_for_existing_orders, migrations.RunPython.noop),
    ]
