"""The database refuses to change a journal entry, except for the settlement's marks.

`settled_in` and `cleared_in` may each be set once, from empty. On PostgreSQL
deletes are refused as well; on SQLite they are not, because Django's test
flush empties tables with DELETE (PostgreSQL's uses TRUNCATE, which row
triggers do not see).
"""

from django.db import migrations

# Every column but the two marks; a column added later must be added here too.
_COLUMNS = (
    "id patron_id kind amount_cents currency booked_at business_date booked_by_id fee_type "
    "description item method reference note target_id"
).split()

# The WHEN clause is evaluated without calling the function, so the settlement's
# legitimate updates cost next to nothing; the function only raises.
POSTGRES_UP = """
CREATE FUNCTION fees_journal_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'journal entries are append-only: % cannot be changed or deleted', OLD.id;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER fees_journal_append_only
    BEFORE UPDATE ON fees_journalentry
    FOR EACH ROW WHEN (
        ({new}) IS DISTINCT FROM ({old})
        OR (OLD.settled_in_id IS NOT NULL AND NEW.settled_in_id IS DISTINCT FROM OLD.settled_in_id)
        OR (OLD.cleared_in_id IS NOT NULL AND NEW.cleared_in_id IS DISTINCT FROM OLD.cleared_in_id)
    )
    EXECUTE FUNCTION fees_journal_append_only();
CREATE TRIGGER fees_journal_no_delete
    BEFORE DELETE ON fees_journalentry
    FOR EACH ROW EXECUTE FUNCTION fees_journal_append_only();
""".format(
    new=", ".join(f"NEW.{c}" for c in _COLUMNS), old=", ".join(f"OLD.{c}" for c in _COLUMNS)
)
POSTGRES_DOWN = """
DROP TRIGGER fees_journal_no_delete ON fees_journalentry;
DROP TRIGGER fees_journal_append_only ON fees_journalentry;
DROP FUNCTION fees_journal_append_only();
"""

SQLITE_UP = """
CREATE TRIGGER fees_journal_append_only BEFORE UPDATE ON fees_journalentry
WHEN {changed}
    OR (OLD.settled_in_id IS NOT NULL AND NEW.settled_in_id IS NOT OLD.settled_in_id)
    OR (OLD.cleared_in_id IS NOT NULL AND NEW.cleared_in_id IS NOT OLD.cleared_in_id)
BEGIN
    SELECT RAISE(ABORT, 'journal entries are append-only');
END;
""".format(changed=" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _COLUMNS))
SQLITE_DOWN = "DROP TRIGGER fees_journal_append_only;"


def _run(sql_by_vendor):
    def run(apps, schema_editor):
        sql = sql_by_vendor.get(schema_editor.connection.vendor)
        if sql:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("fees", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
        )
    ]
