"""The journal's own index on patron goes (journal_patron_booked serves it); target and
booked_by get partial indexes. SQLite rebuilds the table to alter its columns, which
drops the append-only trigger, so the trigger is dropped first and made again after."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from fees import journal_trigger as sql

COLUMNS = (
    "id patron_id kind amount_cents currency booked_at business_date booked_by_id fee_type "
    "description item method reference note target_id source_system external_id "
    "external_type booking_key"
).split()
DROP = {"postgresql": sql.POSTGRES_DOWN, "sqlite": sql.SQLITE_DOWN}
CREATE = {"postgresql": sql.postgres_up(COLUMNS), "sqlite": sql.sqlite_up(COLUMNS)}


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0008_refund_permission'),
        ('fees', '0004_fee_kinds'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(sql.run_for_vendor(DROP), sql.run_for_vendor(CREATE)),
        migrations.AlterField(
            model_name='journalentry',
            name='booked_by',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='booked by'),
        ),
        migrations.AlterField(
            model_name='journalentry',
            name='patron',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='journal_entries', to='accounts.patron'),
        ),
        migrations.AlterField(
            model_name='journalentry',
            name='target',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='fees.journalentry', verbose_name='waived fee / reversed payment'),
        ),
        migrations.AddIndex(
            model_name='journalentry',
            index=models.Index(condition=models.Q(('target__isnull', False)), fields=['target'], name='journal_target'),
        ),
        migrations.AddIndex(
            model_name='journalentry',
            index=models.Index(condition=models.Q(('booked_by__isnull', False)), fields=['booked_by'], name='journal_booked_by'),
        ),
        migrations.RunPython(sql.run_for_vendor(CREATE), sql.run_for_vendor(DROP)),
    ]
