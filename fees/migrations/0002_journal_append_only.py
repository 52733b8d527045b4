"""The database refuses to change a journal entry, except for the settlement's marks.

`settled_in` and `cleared_in` may each be set once, from empty. On PostgreSQL
deletes are refused as well; on SQLite they are not, because Django's test
flush empties tables with DELETE (PostgreSQL's uses TRUNCATE, which row
triggers do not see).
"""

from django.db import migrations

from fees import journal_trigger as sql

# Every column but the two marks; a column added later recreates the trigger (see 0003).
COLUMNS = (
    "id patron_id kind amount_cents currency booked_at business_date booked_by_id fee_type "
    "description item method reference note target_id"
).split()


class Migration(migrations.Migration):
    dependencies = [("fees", "0001_initial")]

    operations = [
        migrations.RunPython(
            sql.run_for_vendor({"postgresql": sql.postgres_up(COLUMNS), "sqlite": sql.sqlite_up(COLUMNS)}),
            sql.run_for_vendor({"postgresql": sql.POSTGRES_DOWN, "sqlite": sql.SQLITE_DOWN}),
        )
    ]
