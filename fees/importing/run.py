"""The import as a whole: the file read in batches, each batch's rows checked, then
written in one transaction by the way this database is written fastest."""

import contextlib
import gc
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

from django.db import connection, transaction

from fees.importing.booking import ImportSummary
from fees.importing.orm import OrmWriter
from fees.importing.postgres import PostgresWriter
from fees.importing.rows import BadRow, Checker, FeeRow, records
from fees.models import Owner

BATCH = 50_000


def import_fees(
    path: Path, *, batch_size: int = BATCH, progress: Callable[[ImportSummary], None] | None = None
) -> ImportSummary:
    summary = ImportSummary()
    checker = Checker()
    writer_class = PostgresWriter if connection.vendor == "postgresql" else OrmWriter
    with _cycles_left_alone(), contextlib.closing(writer_class(Owner.objects.default())) as writer:
        writer.after(summary, batch_size)
        rows = records(path)
        while batch := list(islice(rows, batch_size)):
            summary.rows += len(batch)
            good = []
            take, bad, check = good.append, summary.bad.append, checker.row
            for line, record in batch:
                try:
                    take(check(line, record))
                except BadRow as error:
                    bad((line, str(error)))
            write_batch(writer, good, summary)
            writer.after(summary, batch_size)
            if progress:
                progress(summary)
    summary.bad.sort()
    summary.seconds = summary.elapsed
    return summary


@contextlib.contextmanager
def _cycles_left_alone() -> Iterator[None]:
    """Python's cycle collector paused: a batch is a few hundred thousand objects that
    live until it is written, which the collector would walk through again and again
    (more than half of the time spent in Python, measured). Reading and writing batches
    makes no reference cycles worth collecting meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def write_batch(writer: OrmWriter | PostgresWriter, rows: list[FeeRow], summary) -> None:
    """One batch, all or nothing: a run stopped part-way leaves whole batches, and the
    next run takes up what they did not write."""
    with transaction.atomic():
        writer.write(rows, summary)
