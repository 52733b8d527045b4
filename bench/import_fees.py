"""Import benchmark: `manage.py import_fees` of a library system's export against a plain
`COPY` of the same rows on the same server.

    .venv/bin/python bench/import_fees.py                      # 1,000,000 fees, 200,000 patrons
    .venv/bin/python bench/import_fees.py --fees 20000 --patrons 4000   # smoke run

Target: the import takes at most 3x the time of COPYing the same fees into a table of the
journal's shape (its columns, defaults, indexes, checks and foreign keys; its triggers fire
only on UPDATE and DELETE), from a file in the journal's columns already, committed. The
import starts from the export's own CSV, so it also parses and checks every row, creates
the patrons (user and patron rows) and looks up what is there already. It drops and
re-creates its database (the name must contain "bench"), as bench/settle.py does.
"""

import argparse
import csv
import random
import sys
import tempfile
import time
from pathlib import Path

from common import bench_database_name, recreate_database, say, setup_django, step


def write_export(path: Path, fees: int, patrons: int, seed: int) -> None:
    from fees.importing import COLUMNS

    rng = random.Random(seed)
    types = ["overdue", "lost_item", "reminder", "OVERDUE_X"]
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for fee in range(fees):
            patron = fee % patrons
            writer.writerow([
                f"U{patron:07d}", f"C{patron:09d}", "Erika", f"Muster{patron}",
                f"p{patron}@example.org", f"P{patron}", f"F{fee:08d}", rng.choice(types), "",
                f"{rng.randint(50, 5000) / 100:.2f}", "EUR", "2026-11-30", "Overdue fine",
            ])  # fmt: skip


def copy_baseline(export: Path) -> float:
    """COPY the same fees, already in the journal's columns, into a table of its shape."""
    from django.db import connection
    from django.utils import timezone

    from fees.importing import JOURNAL_COLUMNS
    from fees.models import JournalEntry, Owner

    patron = JournalEntry._meta.get_field("patron").related_model.objects.first()
    owner = Owner.objects.default().pk
    now = timezone.now()
    rows = Path(tempfile.mkstemp(suffix=".tsv")[1])
    with export.open() as source, rows.open("w") as target:
        reader = csv.DictReader(source)
        for record in reader:
            cents = round(float(record["amount"]) * 100)
            values = [patron.pk, "fee", cents, "EUR", now.isoformat(), now.date().isoformat(),
                      r"\N", "overdue", record["description"], "", "", "", "", "",
                      record["fee_id"], record["type"], "", owner, r"\N", r"\N", r"\N"]  # fmt: skip
            target.write("\t".join(str(value) for value in values) + "\n")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
        cursor.execute("CREATE TABLE bench_copy (LIKE fees_journalentry INCLUDING ALL)")
        # Its foreign keys too, checked as the journal's are: at commit.
        cursor.execute(
            "ALTER TABLE bench_copy"
            " ADD FOREIGN KEY (patron_id) REFERENCES accounts_patron (id)"
            " DEFERRABLE INITIALLY DEFERRED,"
            " ADD FOREIGN KEY (owner_id) REFERENCES fees_owner (id) DEFERRABLE INITIALLY DEFERRED"
        )
        started = time.perf_counter()
        with (
            rows.open() as data,
            cursor.cursor.copy(
                f"COPY bench_copy ({', '.join(JOURNAL_COLUMNS)}) FROM STDIN"
            ) as copy,
        ):
            while block := data.read(1 << 20):
                copy.write(block)
        connection.commit()  # the import's batches are committed too
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy")
    rows.unlink()
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fees", type=int, default=1_000_000)
    parser.add_argument("--patrons", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    setup_django(
        "epayment_bench", DEBUG="false", SECRET_KEY="bench-only", ALLOWED_HOSTS="localhost"
    )
    name = bench_database_name("import")
    say(f"Import benchmark on {name}: {args.fees} fees of {args.patrons} patrons")
    export = Path(tempfile.mkstemp(suffix=".csv")[1])
    with step("writing the export"):
        write_export(export, args.fees, args.patrons, args.seed)
    results = []
    for attempt in (1, 2):
        with step(f"run {attempt}: database"):
            recreate_database()
        from fees.importing import import_fees

        started = time.perf_counter()
        summary = import_fees(export)
        imported = time.perf_counter() - started
        say(f"  run {attempt}: {summary.line}")
        if summary.bad or summary.fees_booked != args.fees:
            sys.exit("The import did not book every fee.")
        copy_seconds = copy_baseline(export)
        started = time.perf_counter()
        again = import_fees(export)
        again_seconds = time.perf_counter() - started
        say(f"  run {attempt}: again, {again.line}")
        results.append((imported, copy_seconds, again_seconds))
    export.unlink()
    say("")
    say("| run | fees | patrons | import_fees s | COPY s | ratio | again (nothing to write) s |")
    say("| --- | --- | --- | --- | --- | --- | --- |")
    for attempt, (imported, copied, again_seconds) in enumerate(results, start=1):
        say(f"| {attempt} | {args.fees:,} | {args.patrons:,} | {imported:.1f} | {copied:.1f} | "
            f"{imported / copied:.2f} | {again_seconds:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
