"""Reading NDJSON as spans of raw lines gives exactly the records of reading it line by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from medlake.fhir.reading import NdjsonBlock, block_records, ndjson_spans, read_records, read_span

AWKWARD = (
    b'\xef\xbb\xbf{"resourceType":"Patient","id":"a"}\r\n'  # BOM, CRLF
    b"\n"
    b"   \t \n"  # whitespace only: no record, but it counts as a line
    b'  {"resourceType":"Patient","id":"b"}  \n'
    b"{not json\n"
    b'{"resourceType":"Observation","id":"c","note":[{"text":"line\\nbreak"}]}\n'
    b"\n\n"
    b'{"resourceType":"Patient","id":"last-without-newline"}'
)


def _records_by_blocks(path: Path, lines: int, read_size: int) -> list[tuple]:
    return [
        (r.source_file, r.line, r.text, r.error)
        for span in ndjson_spans(path, lines, read_size)
        for r in block_records(read_span(span))
    ]


@pytest.mark.parametrize("tail", [b"", b"\n", b"\n\n  \n"])
def test_blocks_give_the_records_of_line_by_line_reading(tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / "awkward.ndjson"
    path.write_bytes(AWKWARD + tail)
    expected = [(r.source_file, r.line, r.text, r.error) for r in read_records(path)]
    assert [line for _, line, _, _ in expected] == [1, 4, 5, 6, 9], "blank lines are numbered, not kept"
    for lines in (1, 2, 3, 7, 2_000):
        for read_size in (1, 5, 64, 1 << 22):  # lines straddling reads, and whole-file reads
            assert _records_by_blocks(path, lines, read_size) == expected, (lines, read_size)


def test_blocks_hold_the_requested_number_of_lines(tmp_path: Path) -> None:
    path = tmp_path / "many.ndjson"
    path.write_bytes(b"".join(b'{"resourceType":"Patient","id":"p%d"}\n' % i for i in range(1, 1001)))
    blocks = [read_span(span) for span in ndjson_spans(path, 300, read_size=1000)]
    assert [b.first_line for b in blocks] == [1, 301, 601, 901]
    assert [b.data.count(b"\n") for b in blocks] == [300, 300, 300, 100]


def test_empty_file_gives_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.ndjson"
    path.write_bytes(b"")
    assert list(ndjson_spans(path, 10)) == [] == list(read_records(path))


def test_unreadable_file_is_reported_as_line_by_line_reading_does(tmp_path: Path) -> None:
    missing = tmp_path / "gone.ndjson"
    [by_lines] = list(read_records(missing))
    [by_blocks] = [r for span in ndjson_spans(missing, 10) for r in block_records(read_span(span))]
    assert (by_blocks.line, by_blocks.text, by_blocks.error) == (by_lines.line, by_lines.text, by_lines.error)
    assert by_blocks.error.startswith("unreadable file")


def test_a_file_cut_short_after_splitting_gives_an_error_record_not_a_partial_block(tmp_path: Path) -> None:
    path = tmp_path / "shrinks.ndjson"
    path.write_bytes(b"".join(b'{"resourceType":"Patient","id":"p%d"}\n' % i for i in range(1, 11)))
    spans = list(ndjson_spans(path, 4))
    path.write_bytes(path.read_bytes()[:50])  # the sender rewrote the file while it was being ingested
    assert read_span(spans[0]).first_line == -1 == read_span(spans[2]).first_line
    [record] = block_records(read_span(spans[1]))
    assert record.line == -1 and "cut short" in (record.error or "")


def test_a_block_passes_through_read_span_unchanged() -> None:
    block = NdjsonBlock("f.ndjson", 3, b"{}\n")
    assert read_span(block) is block
