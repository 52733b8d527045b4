"""The library system's ids on fees, fee reductions, per-fee shares of money movements and
their deliveries; the journal's booking key (what an entry books, held once); the
settlement's index of credit carried forward. The append-only trigger is recreated to
cover the new columns."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings

from django.db import migrations, models

from fees import journal_trigger as sql

_OLD = (
    "id patron_id kind amount_cents currency booked_at business_date booked_by_id fee_type "
    "description item method reference note target_id"
).split()
COLUMNS = [*_OLD, "source_system", "external_id", "external_type", "booking_key"]
DROP = {"postgresql": sql.POSTGRES_DOWN, "sqlite": sql.SQLITE_DOWN}
OLD = {"postgresql": sql.postgres_up(_OLD), "sqlite": sql.sqlite_up(_OLD)}
NEW = {"postgresql": sql.postgres_up(COLUMNS), "sqlite": sql.sqlite_up(COLUMNS)}


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_library_system_ids'),
        ('fees', '0002_journal_append_only'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(sql.run_for_vendor(DROP), sql.run_for_vendor(OLD)),
        migrations.CreateModel(
            name='Delivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=64, unique=True, verbose_name='idempotency key')),
                ('status', models.CharField(choices=[('pending', 'Waiting to be sent'), ('retrying', 'Retrying'), ('delivered', 'In the library system'), ('failed', 'Refused: waits for staff'), ('resolved', 'Resolved by hand'), ('skipped', 'Not sent: the library system reported it')], default='pending', max_length=16, verbose_name='status')),
                ('attempts', models.PositiveIntegerField(default=0, verbose_name='attempts')),
                ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='next attempt')),
                ('last_attempt_at', models.DateTimeField(blank=True, null=True, verbose_name='last attempt')),
                ('last_error', models.TextField(blank=True, verbose_name='last error')),
                ('delivered_at', models.DateTimeField(blank=True, null=True, verbose_name='delivered at')),
                ('target', models.CharField(blank=True, max_length=16, verbose_name='sent to')),
                ('answer', models.CharField(blank=True, max_length=255, verbose_name='their answer')),
                ('txid', models.BigIntegerField(default=0, editable=False)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='recorded at')),
            ],
            options={
                'verbose_name': 'delivery to the library system',
                'verbose_name_plural': 'deliveries to the library system',
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='PaymentShare',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('amount_cents', models.BigIntegerField(verbose_name='amount (cents)')),
            ],
            options={
                'verbose_name': 'payment share',
            },
        ),
        migrations.RemoveConstraint(
            model_name='journalentry',
            name='journal_sign_matches_kind',
        ),
        migrations.AddField(
            model_name='journalentry',
            name='booking_key',
            field=models.CharField(blank=True, db_default='', default='', max_length=80, verbose_name='booking key'),
        ),
        migrations.AddField(
            model_name='journalentry',
            name='external_id',
            field=models.CharField(blank=True, db_default='', default='', max_length=64, verbose_name='id in the library system'),
        ),
        migrations.AddField(
            model_name='journalentry',
            name='external_type',
            field=models.CharField(blank=True, db_default='', default='', max_length=64, verbose_name='fee type in the library system'),
        ),
        migrations.AddField(
            model_name='journalentry',
            name='source_system',
            field=models.CharField(blank=True, db_default='', default='', max_length=32, verbose_name='library system'),
        ),
        migrations.AlterField(
            model_name='journalentry',
            name='kind',
            field=models.CharField(choices=[('fee', 'Fee'), ('payment', 'Payment'), ('credit_note', 'Credit note'), ('waiver', 'Waiver'), ('refund', 'Refund'), ('reversal', 'Payment reversal'), ('reduction', 'Fee reduced by the library system')], max_length=16, verbose_name='kind'),
        ),
        migrations.AddIndex(
            model_name='journalentry',
            index=models.Index(condition=models.Q(('cleared_in__isnull', True), ('kind__in', ('payment', 'credit_note', 'waiver', 'reduction')), ('settled_in__isnull', False)), fields=['patron'], name='journal_carried_credit'),
        ),
        migrations.AddConstraint(
            model_name='journalentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('amount_cents__gt', 0), ('kind__in', ('fee', 'refund', 'reversal'))), models.Q(('amount_cents__lt', 0), ('kind__in', ('payment', 'credit_note', 'waiver', 'reduction'))), _connector='OR'), name='journal_sign_matches_kind', violation_error_message="The amount's sign does not match the entry kind."),
        ),
        migrations.AddConstraint(
            model_name='journalentry',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'fee'), models.Q(('external_id', ''), _negated=True)), fields=('source_system', 'external_id'), name='journal_fee_external_id_once'),
        ),
        migrations.AddConstraint(
            model_name='journalentry',
            constraint=models.UniqueConstraint(condition=models.Q(('booking_key', ''), _negated=True), fields=('booking_key',), name='journal_booked_once'),
        ),
        migrations.AddField(
            model_name='delivery',
            name='entry',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='delivery', to='fees.journalentry', verbose_name='booking'),
        ),
        migrations.AddField(
            model_name='paymentshare',
            name='fee',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='fees.journalentry'),
        ),
        migrations.AddField(
            model_name='paymentshare',
            name='movement',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='shares', to='fees.journalentry'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(condition=models.Q(('status__in', ['pending', 'retrying'])), fields=['next_attempt_at'], name='delivery_due'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(fields=['status', 'created_at'], name='delivery_status'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(fields=['txid', 'id'], name='delivery_feed'),
        ),
        migrations.AddConstraint(
            model_name='paymentshare',
            constraint=models.CheckConstraint(condition=models.Q(('amount_cents__gt', 0)), name='share_amount_positive'),
        ),
        migrations.RunPython(sql.run_for_vendor(NEW), sql.run_for_vendor(DROP)),
    ]
