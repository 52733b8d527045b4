"""The import as a whole: the file read in batches, each batch's rows checked, then
written in one transaction by the way this database is written fastest."""

import contextlib
import gc
import queue
import threading
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

from django.db import connection, transaction

from fees.importing.booking import ImportSummary
from fees.importing.orm import OrmWriter
from fees.importing.postgres import PostgresWriter
from fees.importing.rows import BadRow, Checker, records
from fees.models import Owner

BATCH = 50_000
# A batch read: how many rows it had, its good rows as the writer takes them, its bad rows
# by line.
Batch = tuple[int, object, list[tuple[int, str]]]


def import_fees(
    path: Path, *, batch_size: int = BATCH, progress: Callable[[ImportSummary], None] | None = None
) -> ImportSummary:
    summary = ImportSummary()
    checker = Checker(Owner.objects.default())
    writer_class = PostgresWriter if connection.vendor == "postgresql" else OrmWriter
    with (
        _cycles_left_alone(),
        contextlib.closing(writer_class()) as writer,
        contextlib.closing(_read_ahead(_checked(path, checker, batch_size, writer))) as batches,
    ):
        writer.after(summary, batch_size)
        for size, staged, bad in batches:
            summary.rows += size
            summary.bad.extend(bad)
            write_batch(writer, staged, summary)
            writer.after(summary, batch_size)
            if progress:
                progress(summary)
    summary.bad.sort()
    summary.seconds = summary.elapsed
    return summary


def write_batch(writer: OrmWriter | PostgresWriter, staged, summary: ImportSummary) -> None:
    """One batch, all or nothing: a run stopped part-way leaves whole batches, and the
    next run takes up what they did not write."""
    with transaction.atomic():
        writer.write(staged, summary)


def _checked(path: Path, checker: Checker, batch_size: int, writer) -> Iterator[Batch]:
    rows = records(path)
    while batch := list(islice(rows, batch_size)):
        good, bad = [], []
        take, refuse, check = good.append, bad.append, checker.row
        for line, record in batch:
            try:
                take(check(line, record))
            except BadRow as error:
                refuse((line, str(error)))
        yield len(batch), writer.stage(good), bad


_DONE = object()


def _read_ahead(batches: Iterator[Batch]) -> Iterator[Batch]:
    """The batches read and checked in a thread of their own, one ahead of the batch
    being written: Python reads while the database writes (waiting for the database,
    the writing thread leaves Python to the reader)."""
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand_over(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not hand_over((batch, None)):
                    return
        except Exception as error:  # raised where the batches are taken
            hand_over((None, error))
            return
        hand_over((_DONE, None))

    reader = threading.Thread(target=read, name="import_fees reader", daemon=True)
    reader.start()
    try:
        while True:
            batch, error = ready.get()
            if error is not None:
                raise error
            if batch is _DONE:
                return
            yield batch
    finally:
        stop.set()
        reader.join()


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
