"""A FHIR file as a delivery: read once for its fingerprint and its spans, the same as reading twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from medlake.fhir.reading import file_sha256, ndjson_spans
from medlake.ingest import file_delivery

CORPUS = Path(__file__).with_name("corpus")


def test_one_read_gives_the_fingerprint_and_spans_of_two(tmp_path: Path) -> None:
    path = tmp_path / "many.ndjson"
    path.write_bytes(b"".join(b'{"resourceType":"Patient","id":"p%d"}\n' % i for i in range(1, 1001)) + b"{}")
    once = file_delivery(path, "hosp-a", span_lines=300)
    assert once.fingerprint == file_sha256(path) == file_delivery(path, "hosp-a").fingerprint
    assert once.blocks is not None
    assert list(once.blocks(300)) == list(ndjson_spans(path, 300))
    assert [s.first_line for s in once.blocks(300)] == [1, 301, 601, 901]
    assert list(once.blocks(7)) == list(ndjson_spans(path, 7))  # another size reads the file again


def test_an_unreadable_file_still_fails_as_it_did(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        file_delivery(tmp_path / "gone.ndjson", "hosp-a", span_lines=10)
