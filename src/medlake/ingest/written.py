"""File bookkeeping: the data files an ingest job wrote that no commit has taken yet."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from medlake.lake.files import COMPRESSION, FileTarget, delete_data_file


class WrittenFiles:
    """The data files this job's workers and groups may have written that no commit has taken yet.

    Whatever ends the job, these are removed on the way out (after the pool has stopped), so a
    failed job leaves no file behind; only a killed one can, for ``Lake.vacuum`` to remove.
    """

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex  # names never clash with another job's, even a killed one's
        self.unclaimed: dict[str, FileTarget] = {}

    def name(self, number: int, kind: str) -> str:
        return f"part-{number:05d}-{self.token}-{kind}.{COMPRESSION}.parquet"

    def expect(self, target: FileTarget, name: str) -> None:
        self.unclaimed[f"{target.directory}/{name}"] = target

    def settle(self, paths: Iterable[str]) -> None:
        """These files are committed or gone: no longer the job's to remove."""
        for path in paths:
            self.unclaimed.pop(path, None)

    def remove(self, paths: Iterable[str]) -> None:
        for path in paths:
            target = self.unclaimed.pop(path, None)
            if target is not None:
                delete_data_file(target, path)

    def __enter__(self) -> WrittenFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove(list(self.unclaimed))
