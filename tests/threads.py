"""Work started on several threads at the same moment, each on a database connection of
its own (closed when its work ends, so the test database can be dropped)."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connection


def barrier(parties: int, *, timeout: float | None = None) -> threading.Barrier:
    """Where `parties` threads wait for each other; with `timeout`, a thread left waiting
    fails instead of hanging the run."""
    return threading.Barrier(parties, timeout=timeout)


def run_together(*works: Callable, catch: tuple[type[BaseException], ...] | type = ()):
    """Run each callable on its own thread, all released at once; their results in order.
    An exception of a `catch` class is returned as the result; any other is raised."""
    start = barrier(len(works))

    def run(work):
        try:
            start.wait()
            return work()
        except catch as error:
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(works)) as pool:
        return list(pool.map(run, works))


def run_in_threads(count: int, work: Callable[[int], object], *, catch=()):
    """`work(index)` on `count` threads at once, index 0 to count - 1 (see run_together)."""
    return run_together(*(lambda index=index: work(index) for index in range(count)), catch=catch)
