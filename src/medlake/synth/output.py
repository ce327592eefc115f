"""Streaming NDJSON output: one file per institution and resource type, bulk-export style.

Memory must not grow with the number of residents, so each file has a small byte buffer that is
flushed as soon as it passes a threshold; nothing else is kept except counters.  Gzip streams are
written with ``mtime=0`` and no embedded file name so that the same seed gives the same bytes.
"""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from pathlib import Path
from typing import IO, Any, BinaryIO

import orjson

_FLUSH_AT = 32 * 1024
_GZIP_LEVEL = 6


class _NdjsonFile:
    """An append-only NDJSON file with a bounded buffer."""

    __slots__ = ("_buffer", "_raw", "_stream")

    def __init__(self, path: Path, compress: bool) -> None:
        self._raw: BinaryIO = open(path, "wb", buffering=0)  # noqa: SIM115 - closed in close()
        self._stream: BinaryIO = (
            gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, compresslevel=_GZIP_LEVEL, mtime=0)
            if compress
            else self._raw
        )
        self._buffer = bytearray()

    def write(self, line: bytes) -> None:
        buffer = self._buffer
        buffer += line
        if len(buffer) >= _FLUSH_AT:
            self._stream.write(buffer)
            buffer.clear()

    def close(self) -> None:
        if self._buffer:
            self._stream.write(self._buffer)
            self._buffer.clear()
        if self._stream is not self._raw:
            self._stream.close()
        self._raw.close()


class RegionWriter:
    """Writes resources to ``OUT/<institution>/<ResourceType>.ndjson[.gz]`` and counts them.

    Files are opened lazily on the first resource of a type, so an institution only has files
    for the types it really holds.  ``counts[institution][type]`` counts lines, including
    re-sent newer versions of a resource; ``updated_versions[institution]`` counts those.
    """

    def __init__(self, out_dir: Path, compress: bool) -> None:
        self.out_dir = out_dir
        self.compress = compress
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.updated_versions: dict[str, int] = defaultdict(int)
        self._files: dict[tuple[str, str], _NdjsonFile] = {}
        self._suffix = ".ndjson.gz" if compress else ".ndjson"
        self._truth_files: dict[str, tuple[IO[str], Any]] = {}

    def write(self, institution: str, resource: dict[str, Any]) -> None:
        resource_type = resource["resourceType"]
        target = self._files.get((institution, resource_type))
        if target is None:
            target = self._open(institution, resource_type)
        target.write(orjson.dumps(resource, option=orjson.OPT_APPEND_NEWLINE))
        self.counts[institution][resource_type] += 1
        if resource["meta"]["versionId"] != "1":
            self.updated_versions[institution] += 1

    def _open(self, institution: str, resource_type: str) -> _NdjsonFile:
        folder = self.out_dir / institution
        folder.mkdir(parents=True, exist_ok=True)
        target = _NdjsonFile(folder / f"{resource_type}{self._suffix}", self.compress)
        self._files[(institution, resource_type)] = target
        return target

    def truth_header(self, name: str, header: tuple[str, ...]) -> None:
        """Create ``OUT/truth/<name>.csv`` with its header (plain CSV: people read truth files too)."""
        folder = self.out_dir / "truth"
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / f"{name}.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        self._truth_files[name] = (handle, writer)

    def truth_row(self, name: str, row: tuple[object, ...]) -> None:
        """Append a row to a truth file created by :meth:`truth_header`."""
        entry = self._truth_files.get(name)
        if entry is None:
            raise KeyError(f"truth file {name!r} was not created; call truth_header first")
        entry[1].writerow(row)

    def close(self) -> None:
        for target in self._files.values():
            target.close()
        self._files.clear()
        for handle, _ in self._truth_files.values():
            handle.close()
        self._truth_files.clear()

    def __enter__(self) -> RegionWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
