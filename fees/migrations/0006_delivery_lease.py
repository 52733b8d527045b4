"""A delivery's lease: the worker that sends it holds no transaction across the network
call, so the claim is this column instead of a row lock."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('fees', '0005_journal_lighter_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='delivery',
            name='claimed_until',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='being sent until'),
        ),
    ]
