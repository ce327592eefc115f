"""Reading and writing Delta tables, with exactly-once commits.

Every write is one Delta transaction. Writers that may be re-run after a crash pass an
application id (Delta's ``txn`` action, the mechanism Spark's streaming sinks use): a
commit records ``(app_id, version)`` atomically with its data, so a re-run can ask
whether its commit landed and skip it instead of writing it twice.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
from deltalake import (
    ColumnProperties,
    CommitProperties,
    DeltaTable,
    Transaction,
    WriterProperties,
    write_deltalake,
)
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, create_table_with_add_actions

from medlake.errors import LakeError
from medlake.lake.files import COMPRESSION, DataFile, FileTarget, is_local, local_path
from medlake.lake.tables import Layer, checked_location, table_location

_ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: Table properties every medlake table is created with.
TABLE_CONFIGURATION = {"delta.checkpointInterval": "20", "delta.logRetentionDuration": "interval 30 days"}


@dataclass(frozen=True)
class TableStats:
    version: int
    rows: int
    rows_by_institution: dict[str, int]
    schema: pa.Schema


class Lake:
    """The lake rooted at ``root_uri`` (a local path, ``s3://…`` or ``hdfs://…``)."""

    def __init__(
        self, root_uri: str, storage_options: dict[str, str] | None = None, checkpoint_interval: int = 20
    ) -> None:
        self.root_uri = root_uri.rstrip("/")
        self.storage_options = storage_options or None
        self.configuration = {**TABLE_CONFIGURATION, "delta.checkpointInterval": str(checkpoint_interval)}
        if "://" not in self.root_uri:
            with self._reaching():
                Path(self.root_uri).mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _reaching(self) -> Iterator[None]:
        """Storage that cannot be reached (a bucket, a path that is a file) as one clear :class:`LakeError`.

        The object store's message is a chain of causes over several lines, with terminal colours;
        the chain is kept, on one line.
        """
        try:
            yield
        except LakeError:
            raise
        except OSError as exc:
            causes = [_ANSI.sub("", line).strip(" ↳") for line in str(exc).splitlines()]
            reason = ": ".join(c for c in causes if c) or type(exc).__name__
            raise LakeError(f"the lake at {self.root_uri} cannot be reached: {reason}") from exc

    def uri(self, layer: Layer | str, name: str) -> str:
        return self.resolve(table_location(layer, name))

    def resolve(self, location: str) -> str:
        """The URI of the table at ``location``, relative to this lake's root as the catalog keeps it."""
        return f"{self.root_uri}/{checked_location(location)}"

    def table(self, uri: str) -> DeltaTable | None:
        """The Delta table at ``uri``, or None if nothing has been committed there yet."""
        try:
            with self._reaching():
                return DeltaTable(uri, storage_options=self.storage_options)
        except TableNotFoundError:
            return None

    def tables(self, layer: Layer | str) -> list[str]:
        """Names of the committed tables of a layer (local lakes only list; remote ones use the catalog)."""
        if "://" in self.root_uri:
            raise NotImplementedError("listing a remote lake: read the catalog's datasets instead")
        folder = Path(self.root_uri) / Layer(layer).value
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if (p / "_delta_log").is_dir())

    def committed_version(self, uri: str, app_id: str) -> int | None:
        """The last version that writer ``app_id`` committed to ``uri``, or None."""
        table = self.table(uri)
        return None if table is None else table.transaction_version(app_id)

    def write(
        self,
        uri: str,
        data: pa.Table | pa.RecordBatchReader,
        *,
        mode: str = "append",
        partition_by: Sequence[str] | None = None,
        predicate: str | None = None,
        app_ids: Sequence[str] = (),
        metadata: dict[str, str] | None = None,
        long_text: Sequence[str] = (),
        unique: Sequence[str] = (),
    ) -> int:
        """Commit ``data`` to ``uri`` in one transaction; returns the new table version.

        ``app_ids`` are recorded in the same commit (as Delta ``txn`` actions, version 1),
        so :meth:`committed_version` can later tell whether each writer's data landed.
        Columns in ``long_text`` (resource texts) get neither a dictionary nor statistics:
        no reader skips files on them, and computing both costs twice the rest of the write.
        Columns in ``unique`` (ids, hashes: a value per row) keep their statistics but get no
        dictionary, which the writer would build and then drop (a tenth of the write).
        """
        commit = CommitProperties(
            custom_metadata=metadata,
            app_transactions=[Transaction(app_id, 1) for app_id in app_ids] or None,
        )
        with self._reaching():
            write_deltalake(
                uri,
                data,
                mode=mode,  # type: ignore[arg-type]
                partition_by=list(partition_by) if partition_by else None,
                predicate=predicate,
                configuration=self.configuration,
                storage_options=self.storage_options,
                commit_properties=commit,
                schema_mode="merge" if mode == "append" else None,
                writer_properties=_writer_properties(long_text, unique),
            )
        table = self.table(uri)
        assert table is not None
        return table.version()

    def merge(
        self,
        uri: str,
        data: pa.Table,
        *,
        keys: Sequence[str],
        partition: str,
        metadata: dict[str, str] | None = None,
    ) -> int:
        """Upsert ``data`` into ``uri`` in one transaction: rows whose ``keys`` match are replaced,
        the others added; returns the new version.

        The partition column's values in ``data`` are named in the predicate as literals, so only
        those partitions' files are read (and only files holding a matched row are rewritten).
        """
        table = self.table(uri)
        assert table is not None, "merge needs an existing table"
        values = sorted(set(data.column(partition).to_pylist()))
        literals = ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)
        joined = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        predicate = f"{joined} AND t.{partition} IN ({literals})"
        with self._reaching():
            (
                table.merge(
                    data,
                    predicate=predicate,
                    source_alias="s",
                    target_alias="t",
                    commit_properties=CommitProperties(custom_metadata=metadata),
                )
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )
        return table.version()

    def added_since(self, uri: str, version: int) -> pads.Dataset | None:
        """The rows of files the current version has and ``version`` had not (None: that version's
        log is gone, so the caller must read everything).

        After appends these are exactly the new rows; a compaction (``medlake maintain``) rewrites
        old rows into new files, so it may return more than what is new, never less.
        """
        table = self.table(uri)
        if table is None:
            return None
        try:
            with self._reaching():
                before = DeltaTable(uri, version=version, storage_options=self.storage_options)
        except Exception:  # the log of that version was cleaned up: nothing to compare with
            return None
        current = table.to_pyarrow_dataset()
        seen = {fragment.path for fragment in before.to_pyarrow_dataset().get_fragments()}
        fresh = [fragment for fragment in current.get_fragments() if fragment.path not in seen]
        return pads.FileSystemDataset(fresh, current.schema, current.format, current.filesystem)

    def commit_value(self, uri: str, key: str) -> tuple[int, str] | None:
        """The newest commit of ``uri`` whose metadata has ``key``: its version and the value."""
        table = self.table(uri)
        if table is None:
            return None
        for commit in table.history():
            if key in commit:
                return int(commit["version"]), str(commit[key])
        return None

    def commits_since(self, uri: str, version: int) -> list[dict]:
        """The commit records of versions after ``version``, oldest first (with their metadata)."""
        table = self.table(uri)
        if table is None or table.version() <= version:
            return []
        newer = [c for c in table.history(max(table.version() - version, 0)) if int(c["version"]) > version]
        return sorted(newer, key=lambda c: int(c["version"]))

    def file_target(self, uri: str, partition: dict[str, str]) -> FileTarget:
        """Where files of one partition of ``uri`` are written before :meth:`commit_files` adds them."""
        options = tuple(sorted((self.storage_options or {}).items()))
        return FileTarget(uri, options, tuple(partition.items()))

    def commit_files(
        self,
        uri: str,
        files: Sequence[DataFile],
        *,
        schema: pa.Schema,
        partition_by: Sequence[str],
        app_ids: Sequence[str] = (),
        metadata: dict[str, str] | None = None,
    ) -> int:
        """Append files written by :func:`medlake.lake.files.write_data_file` in one transaction.

        The same guarantees as :meth:`write`: one commit, with the writers' application ids,
        creating the table (with :data:`TABLE_CONFIGURATION`) if none exists yet.
        """
        commit = CommitProperties(
            custom_metadata=metadata,
            app_transactions=[Transaction(app_id, 1) for app_id in app_ids] or None,
        )
        now = int(time.time() * 1000)
        actions = [AddAction(f.path, f.size, dict(f.partition), now, True, f.stats) for f in files]
        table = self.table(uri)
        if table is None:
            create_table_with_add_actions(
                uri,
                DeltaSchema.from_arrow(schema),
                actions,
                mode="append",
                partition_by=list(partition_by),
                configuration=self.configuration,
                storage_options=self.storage_options,
                commit_properties=commit,
            )
        else:
            table.create_write_transaction(
                actions,
                mode="append",
                schema=schema,
                partition_by=list(partition_by),
                commit_properties=commit,
            )
        table = self.table(uri)
        assert table is not None
        return table.version()

    def dataset(self, uri: str) -> pads.Dataset | None:
        """An Arrow dataset over the table's current version (lazy: nothing is read yet)."""
        table = self.table(uri)
        return None if table is None else table.to_pyarrow_dataset()

    def files(self, uri: str, predicate: str | None = None) -> list[str]:
        """Data files of the current version, optionally pruned by a partition predicate."""
        table = self.table(uri)
        if table is None:
            return []
        return table.file_uris(file_pruning_predicate=predicate) if predicate else table.file_uris()

    def stats(self, uri: str) -> TableStats | None:
        """Version, row counts (total and per institution partition) and schema, from the log alone."""
        table = self.table(uri)
        if table is None:
            return None
        actions = pa.table(table.get_add_actions(flatten=True))
        by_institution: dict[str, int] = {}
        if "partition.institution" in actions.column_names:
            pairs = zip(
                actions.column("partition.institution").to_pylist(),
                actions.column("num_records").to_pylist(),
                strict=True,
            )
            for institution, rows in pairs:
                by_institution[institution] = by_institution.get(institution, 0) + (rows or 0)
        rows = sum(actions.column("num_records").to_pylist()) if actions.num_rows else 0
        schema = pa.schema(table.schema().to_arrow())
        return TableStats(table.version(), rows, dict(sorted(by_institution.items())), schema)

    def read(self, uri: str, columns: Sequence[str] | None = None) -> pa.Table | None:
        table = self.table(uri)
        return None if table is None else table.to_pyarrow_table(columns=list(columns) if columns else None)

    def vacuum(self, uri: str, retention_hours: int = 168) -> list[str]:
        """Delete files that no commit names (left by a killed writer) and files only versions
        older than ``retention_hours`` need (which ends time travel to those versions)."""
        table = self.table(uri)
        if table is None:
            return []
        return table.vacuum(
            retention_hours=retention_hours, enforce_retention_duration=False, dry_run=False, full=True
        )


def _writer_properties(long_text: Sequence[str], unique: Sequence[str] = ()) -> WriterProperties | None:
    if not long_text and not unique:
        return None
    plain = ColumnProperties(dictionary_enabled=False, statistics_enabled="NONE")
    undictionaried = ColumnProperties(dictionary_enabled=False)
    columns = dict.fromkeys(unique, undictionaried) | dict.fromkeys(long_text, plain)
    return WriterProperties(compression=COMPRESSION.upper(), column_properties=columns)


__all__ = ["Lake", "is_local", "local_path"]
