"""Fee owners. The one owner there is until staff add more is the default owner; its empty
fields (its name too: LIBRARY_NAME) keep reading the settings, so a single-owner library
sees no change; every entry booked so far names no owner and so is that owner's. Adding
the journal's column drops and remakes the append-only trigger with the longer list."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

from fees import journal_trigger as sql

OLD = (
    "id patron_id kind amount_cents currency booked_at business_date booked_by_id fee_type "
    "description item method reference note target_id source_system external_id "
    "external_type booking_key"
).split()
NEW = [*OLD, "owner_id"]
DROP = {"postgresql": sql.POSTGRES_DOWN, "sqlite": sql.SQLITE_DOWN}
CREATE_OLD = {"postgresql": sql.postgres_up(OLD), "sqlite": sql.sqlite_up(OLD)}
CREATE_NEW = {"postgresql": sql.postgres_up(NEW), "sqlite": sql.sqlite_up(NEW)}


def create_default_owner(apps, schema_editor):
    apps.get_model("fees", "Owner").objects.get_or_create(
        is_default=True, defaults={"code": "default"}
    )


class Migration(migrations.Migration):

    dependencies = [
        ('fees', '0006_delivery_lease'),
    ]

    operations = [
        migrations.RunPython(sql.run_for_vendor(DROP), sql.run_for_vendor(CREATE_OLD)),
        migrations.CreateModel(
            name='Owner',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(help_text="As the library system names the owner of a fee: Koha's library_id, FOLIO's owner id, Alma's owner.", max_length=64, unique=True, verbose_name='code')),
                ('name_en', models.CharField(blank=True, help_text="Empty for the default owner: the portal's LIBRARY_NAME.", max_length=100, verbose_name='name (English)')),
                ('name_de', models.CharField(blank=True, max_length=100, verbose_name='name (German)')),
                ('is_default', models.BooleanField(default=False, help_text="Fees that name no owner are this owner's. Exactly one owner is.", verbose_name='default owner')),
                ('provider', models.CharField(blank=True, help_text="Empty: the portal's PAYMENT_PROVIDER setting.", max_length=16, verbose_name='payment provider')),
                ('stripe_secret_key_env', models.CharField(blank=True, help_text="Its name, not the key. Empty: the portal's STRIPE_SECRET_KEY.", max_length=64, validators=[django.core.validators.RegexValidator('^[A-Z][A-Z0-9_]*$')], verbose_name='environment variable with the Stripe secret key')),
                ('stripe_webhook_secret_env', models.CharField(blank=True, help_text="Its name, not the secret. Empty: the portal's STRIPE_WEBHOOK_SECRET.", max_length=64, validators=[django.core.validators.RegexValidator('^[A-Z][A-Z0-9_]*$')], verbose_name='environment variable with the Stripe webhook secret')),
                ('online_minimum_cents', models.PositiveIntegerField(blank=True, help_text="Empty: the portal's ONLINE_MINIMUM_CENTS.", null=True, verbose_name='online minimum (cents)')),
                ('online_maximum_cents', models.PositiveIntegerField(blank=True, help_text="Empty: the portal's ONLINE_MAXIMUM_CENTS. 0: no maximum.", null=True, verbose_name='online maximum (cents)')),
                ('cost_centre', models.CharField(blank=True, help_text="The owner's fees are booked to it in the accounting export, whatever their fee type names.", max_length=64, verbose_name='cost centre')),
                ('email_sender', models.EmailField(blank=True, help_text="Empty: the portal's DEFAULT_FROM_EMAIL.", max_length=254, verbose_name='e-mail sender')),
                ('receipt_footer', models.TextField(blank=True, verbose_name='receipt footer')),
            ],
            options={
                'verbose_name': 'fee owner',
                'verbose_name_plural': 'fee owners',
                'ordering': ['-is_default', 'code'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('is_default',), name='one_default_owner')],
            },
        ),
        migrations.AddField(
            model_name='journalentry',
            name='owner',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='fees.owner', verbose_name='owner'),
        ),
        migrations.RunPython(sql.run_for_vendor(CREATE_NEW), sql.run_for_vendor(DROP)),
        migrations.RunPython(create_default_owner, migrations.RunPython.noop),
    ]
