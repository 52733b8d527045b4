from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("payments", "0005_money_reports_for_existing_orders")]

    operations = [
        migrations.RemoveField(model_name="paymentorder", name="extra_payment_cents"),
    ]
