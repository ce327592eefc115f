"""kill -9 in the middle of appends: verify accepts the log up to the last complete append, appends go on."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from medlake.ledger import open_ledger
from medlake.ledger.storage import HEAD_INDEX_SIZE
from medlake.ledger.verify import verify
from tests.ledger.helpers import fill, frames, read_entry

APPENDER = """
import sys
from medlake.ledger import Entry, open_ledger
home, start = sys.argv[1], int(sys.argv[2])
note = "x" * 50_000  # big entries: most of an append is spent writing its frame, where the kill should land
with open_ledger(home) as ledger:
    n = start
    while True:
        size = 1 if n % 3 == 0 else 100
        data = {"actor": "crash", "purpose": "t", "note": note}
        batch = [Entry("access.read", data | {"person": f"C-{n + i}"}) for i in range(size)]
        done = ledger.append_batch(batch)
        print(done.start, done.stop, flush=True)
        n += size
"""


def test_kill_9_mid_append_leaves_a_log_that_verifies_and_continues(workspace) -> None:
    home = workspace.home
    with open_ledger(home) as ledger:
        fill(ledger, 2)
    rng = random.Random(17)
    confirmed: list[tuple[int, int]] = []
    start = 0
    notes = []
    for _ in range(5):
        child = subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(home), str(start)], stdout=subprocess.PIPE, text=True
        )
        first_line = child.stdout.readline()  # started (imports take seconds on a busy machine)
        time.sleep(rng.uniform(0.05, 0.5))
        os.kill(child.pid, signal.SIGKILL)
        output, _ = child.communicate()
        lines = [first_line, *output.splitlines()]
        confirmed += [tuple(map(int, line.split())) for line in lines if line.strip()]  # type: ignore[misc]
        start += 100_000
        with open_ledger(home) as ledger:
            report = verify(ledger)
            assert report.ok, report.findings
            notes += report.notes
            size = report.size  # what was committed, including an append written but not yet indexed
            # an append that returned is in the log, with what it wrote
            for first, stop in confirmed:
                assert stop <= size
                assert ledger.document(first)["data"]["actor"] == "crash"
            # the next append continues where the committed log ends
            index = ledger.append("access.read", {"actor": "after", "person": "A", "purpose": "t"})
            assert index == size
            after = verify(ledger)
            assert after.ok and not after.notes, (after.findings, after.notes)
    assert confirmed, "the appender never got to commit anything"


def test_a_torn_frame_is_ignored_by_verify_and_removed_by_the_next_append(workspace) -> None:
    with open_ledger(workspace) as ledger:
        fill(ledger, 5)
        journal = ledger.root / "journal"
        committed = journal.stat().st_size
        with open(journal, "ab") as out:  # what a kill -9 inside write() leaves: part of a frame
            out.write(frames(ledger.root)[-1].head.pack()[:10] and b"MLJ1" + b"\x00" * 40)
        report = verify(ledger)
        assert report.ok and "unfinished append after entry 4" in report.notes[0]
    with open_ledger(workspace) as ledger:
        assert ledger.append_batch([read_entry(5)]) == range(5, 6)
        assert frames(ledger.root)[-2].end == committed
        assert verify(ledger).ok and not verify(ledger).notes


def test_a_frame_written_but_not_indexed_is_rolled_forward(workspace) -> None:
    with open_ledger(workspace) as ledger:
        fill(ledger, 6)
        root = ledger.root
        head_of_5 = ledger.head_of_size(5)
    # as if the appender died after the journal's fsync, before the indexes and heads.idx
    heads = root / "heads.idx"
    heads.write_bytes(heads.read_bytes()[: 5 * HEAD_INDEX_SIZE])
    entries = root / "entries.idx"
    entries.write_bytes(entries.read_bytes()[: 5 * 44] + b"\x01" * 20)
    with open_ledger(workspace) as ledger:
        assert ledger.head() == head_of_5
        report = verify(ledger)
        assert report.ok and "not indexed yet" in " ".join(report.notes)
        notes = ledger.recover()
        assert any("indexed entries 5–5" in note for note in notes)
        assert ledger.size() == 6 and verify(ledger).ok
        assert ledger.append_batch([read_entry(6)]) == range(6, 7)
        assert [f.head.tree_size for f in frames(Path(ledger.root))] == [1, 2, 3, 4, 5, 6, 7]
