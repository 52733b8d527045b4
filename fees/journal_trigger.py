"""The SQL of the trigger that keeps the journal append-only, for a given column list.

Every column but the settlement's two marks is compared; a migration that adds a
journal column recreates the trigger with the longer list.
"""

# The WHEN clause is evaluated without calling the function, so the settlement's
# legitimate updates cost next to nothing; the function only raises.
_POSTGRES_UP = """
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
"""
POSTGRES_DOWN = """
DROP TRIGGER fees_journal_no_delete ON fees_journalentry;
DROP TRIGGER fees_journal_append_only ON fees_journalentry;
DROP FUNCTION fees_journal_append_only();
"""
_SQLITE_UP = """
CREATE TRIGGER fees_journal_append_only BEFORE UPDATE ON fees_journalentry
WHEN {changed}
    OR (OLD.settled_in_id IS NOT NULL AND NEW.settled_in_id IS NOT OLD.settled_in_id)
    OR (OLD.cleared_in_id IS NOT NULL AND NEW.cleared_in_id IS NOT OLD.cleared_in_id)
BEGIN
    SELECT RAISE(ABORT, 'journal entries are append-only');
END;
"""
SQLITE_DOWN = "DROP TRIGGER fees_journal_append_only;"


def postgres_up(columns: list[str]) -> str:
    return _POSTGRES_UP.format(
        new=", ".join(f"NEW.{c}" for c in columns), old=", ".join(f"OLD.{c}" for c in columns)
    )


def sqlite_up(columns: list[str]) -> str:
    return _SQLITE_UP.format(changed=" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns))


def run_for_vendor(sql_by_vendor: dict[str, str]):
    """A RunPython function that executes the SQL for the connection's vendor."""

    def run(apps, schema_editor):
        sql = sql_by_vendor.get(schema_editor.connection.vendor)
        if sql:
            schema_editor.execute(sql, params=None)

    return run
