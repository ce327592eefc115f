"""The worker pool that examines deliveries: chunks handed out in order, results back in order."""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.pool
from collections.abc import Callable, Iterable, Iterator
from itertools import count, islice

from medlake.fhir import structs
from medlake.fhir.reading import Record
from medlake.ingest.delivery import Delivery
from medlake.ingest.examine import (
    DEFAULT_MAX_RESOURCE,
    ChunkResult,
    Destination,
    Task,
    Work,
    examine_work,
    pack,
)
from medlake.ingest.written import WrittenFiles

#: Accepted rows of a chunk from which a worker writes them as a data file itself: a file costs
#: one to two milliseconds to write, an entry in the Delta log and a read for every later scan,
#: about what sending this many rows through the pipe costs; fewer come back to the parent,
#: which writes a group's small chunks as one file (a folder of many small deliveries would
#: otherwise leave a tiny file each). A full chunk (``ingest_chunk_size`` accepted rows) always
#: gets a file, however small the setting.
FILE_ROWS = 500


class Examiner:
    """Runs ``examine_work`` inline (1 worker) or in a process pool, preserving order.

    Chunks are numbered here, in the order they are handed out, and a chunk's accepted rows
    go to a data file (from ``file_rows`` rows on) named by its number, noted in ``written``.
    """

    def __init__(
        self, workers: int, file_rows: int, written: WrittenFiles, max_resource: int = DEFAULT_MAX_RESOURCE
    ) -> None:
        self.workers, self.file_rows, self.written = workers, file_rows, written
        self.max_resource = max_resource
        self.pool: multiprocessing.pool.Pool | None = None
        self.numbers = count()

    def _tasks(self, work: Iterable[Work], destination: Destination) -> Iterator[Task]:
        for item in work:
            number = next(self.numbers)
            name = self.written.name(number, "c000")
            self.written.expect(destination.target, name)
            yield Task(number, name, self.file_rows, destination, item, self.max_resource)

    def run(self, work: Iterable[Work], destination: Destination) -> Iterator[ChunkResult]:
        """The chunks' results, in order; the work is handed out as the results are asked for."""
        tasks = self._tasks(work, destination)
        if self.pool is None:
            return map(examine_work, tasks)
        return self.pool.imap(examine_work, tasks)

    def __enter__(self) -> Examiner:
        # Built once here, before the fork, so every worker of every job inherits the decoder
        # instead of generating its Structs again (a third of a second per worker).
        structs.decoder()
        if self.workers > 1:
            self.pool = multiprocessing.get_context("fork").Pool(self.workers, initializer=_worker_started)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()


def _worker_started() -> None:
    """Garbage-collector settings for an examining worker (about a tenth of its CPU otherwise).

    Everything inherited from the parent is frozen, so collections do not rescan it, and the
    young generation is collected less often: judging a chunk allocates many short-lived
    containers (the parsed JSON) and almost no cycles.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def work_of(delivery: Delivery, size: int) -> Iterator[Work]:
    """The delivery as work for the examiner: spans of raw lines if it offers them, else packed
    chunks of its records; nothing is read before the first item is asked for."""
    if delivery.blocks is not None:
        # a record among the spans (an oversized line the reader cut short) travels packed
        yield from (pack([item]) if isinstance(item, Record) else item for item in delivery.blocks(size))
    else:
        yield from (pack(chunk) for chunk in _chunks(delivery.read, size))


def _chunks(read: Callable[[], Iterable[Record]], size: int) -> Iterator[list[Record]]:
    """The records ``read()`` gives, ``size`` at a time; ``read`` is called at the first chunk, not before."""
    iterator = iter(read())
    while chunk := list(islice(iterator, size)):
        yield chunk
