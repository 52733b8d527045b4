"""The journal's booking key (what an entry books, held once), and the settlement's index
of credit carried forward. The append-only trigger is recreated to cover the new column."""

from django.db import migrations, models

from fees import journal_trigger as sql

_OLD = (
    "id patron_id kind amount_cents currency booked_at business_date booked_by_id fee_type "
    "description item method reference note target_id"
).split()
COLUMNS = [*_OLD, "booking_key"]
DROP = {"postgresql": sql.POSTGRES_DOWN, "sqlite": sql.SQLITE_DOWN}
OLD = {"postgresql": sql.postgres_up(_OLD), "sqlite": sql.sqlite_up(_OLD)}
NEW = {"postgresql": sql.postgres_up(COLUMNS), "sqlite": sql.sqlite_up(COLUMNS)}


class Migration(migrations.Migration):

    dependencies = [
        ('fees', '0002_journal_append_only'),
    ]

    operations = [
        migrations.RunPython(sql.run_for_vendor(DROP), sql.run_for_vendor(OLD)),
        migrations.AddField(
            model_name='journalentry',
            name='booking_key',
            field=models.CharField(blank=True, default='', max_length=80, verbose_name='booking key'),
        ),
        migrations.AddIndex(
            model_name='journalentry',
            index=models.Index(condition=models.Q(('cleared_in__isnull', True), ('kind__in', ('payment', 'credit_note', 'waiver')), ('settled_in__isnull', False)), fields=['patron'], name='journal_carried_credit'),
        ),
        migrations.AddConstraint(
            model_name='journalentry',
            constraint=models.UniqueConstraint(condition=models.Q(('booking_key', ''), _negated=True), fields=('booking_key',), name='journal_booked_once'),
        ),
        migrations.RunPython(sql.run_for_vendor(NEW), sql.run_for_vendor(DROP)),
    ]
