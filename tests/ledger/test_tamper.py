"""The tamper suite: each way of changing the ledger behind its back is caught by verify AND by a witness.

Two kinds of attacker. One can write the ledger's files but not sign (no private key): they
edit the journal and rebuild the indexes so the hub serves their version. The other holds the
key too (an administrator) and rewrites the history with the ledger's own code; locally it
looks sound, and what catches it is a witness — directly, and through the co-signature the
witness left on the hub, which verify checks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from medlake.cli import app
from medlake.ledger import Entry, LedgerDamaged, open_ledger
from medlake.ledger.heads import SignedHead
from medlake.ledger.merkle import root_of
from medlake.ledger.storage import HEAD_INDEX_SIZE
from medlake.ledger.verify import verify
from medlake.ledger.witness import WitnessAlarm, WitnessClient
from tests.ledger.helpers import Hub, fill, frames, read_entry, rebuild_indexes, write_frames

SIZE = 8


@pytest.fixture
def watched(workspace, tmp_path) -> tuple[Path, Hub, WitnessClient]:
    """A ledger of 8 one-by-one appends, a hub, and a witness that has co-signed its head."""
    with open_ledger(workspace) as ledger:
        fill(ledger, SIZE)
    hub = Hub(workspace.home)
    witness = hub.witness(tmp_path / "witness")
    assert witness.check().status == "first"
    with open_ledger(workspace) as ledger:
        assert verify(ledger).ok and verify(ledger).cosignatures == 1
    return workspace.home, hub, witness


def _items(root: Path) -> list[tuple[SignedHead, list[bytes]]]:
    return [(f.head, f.entries) for f in frames(root)]


def edit_entry(root: Path) -> None:
    items = _items(root)
    head, entries = items[3]
    items[3] = (head, [entries[0].replace(b"G-00003", b"G-00093")])
    write_frames(root, items)
    rebuild_indexes(root)


def reorder_entries(root: Path) -> None:
    items = _items(root)
    (head3, entries3), (head4, entries4) = items[3], items[4]
    items[3], items[4] = (head3, entries4), (head4, entries3)
    write_frames(root, items)
    rebuild_indexes(root)


def truncate_entries(root: Path) -> None:
    write_frames(root, _items(root)[:6])
    rebuild_indexes(root)


def append_behind_its_back(root: Path) -> None:
    items = _items(root)
    forged = b'{"data":{"actor":"nobody","person":"G-00001","purpose":"treatment"},"kind":"access.read"}'
    entries = [e for _, frame_entries in items for e in frame_entries] + [forged]
    head = SignedHead.sign(
        Ed25519PrivateKey.generate(), items[-1][0].timestamp, len(entries), root_of(entries)
    )
    write_frames(root, [*items, (head, [forged])])
    rebuild_indexes(root)


def replay_old_head(root: Path) -> None:
    heads = root / "heads.idx"
    data = heads.read_bytes()
    heads.write_bytes(data + data[2 * HEAD_INDEX_SIZE : 3 * HEAD_INDEX_SIZE])


def _rewrite_with_the_key(root: Path, keep: int, new: list[Entry]) -> None:
    """What an administrator could do: keep the first ``keep`` appends and re-sign a new history."""
    write_frames(root, _items(root)[:keep])
    rebuild_indexes(root)
    with open_ledger(root.parent) as ledger:
        for entry in new:
            ledger.append_batch([entry])


def delete_entry_with_the_key(root: Path) -> None:
    _rewrite_with_the_key(root, 3, [read_entry(i) for i in range(4, SIZE)])


def fork_with_the_key(root: Path) -> None:
    _rewrite_with_the_key(root, 5, [read_entry(100 + i) for i in range(4)])


# (how, first entry verify must name (None: it names the witness instead), the witness alarms it may raise)
SCENARIOS: dict[str, tuple[Callable[[Path], None], int | None, set[str]]] = {
    "edit": (edit_entry, 3, {"rewrite"}),
    "delete": (delete_entry_with_the_key, None, {"rollback", "rewrite", "fork"}),
    "reorder": (reorder_entries, 3, {"rewrite"}),
    "truncate": (truncate_entries, None, {"rollback"}),
    "append behind its back": (append_behind_its_back, SIZE, {"key"}),
    "replay an old head": (replay_old_head, SIZE, {"rollback"}),
    "fork": (fork_with_the_key, None, {"rewrite", "fork"}),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_tampering_is_caught_by_verify_and_by_a_witness(name: str, watched) -> None:
    home, _hub, witness = watched
    tamper, first_entry, alarms = SCENARIOS[name]
    tamper(home / "ledger")

    with open_ledger(home) as ledger:
        report = verify(ledger)
    assert not report.ok, name
    if first_entry is None:
        assert any("hosp-north co-signed" in f.message for f in report.findings), report.findings
    else:
        assert report.first.entry == first_entry, report.findings

    # the hub carries on (new entries arrive) where its files still let it, and the witness looks again
    # (the hub refuses to append onto files no crash leaves)
    with open_ledger(home) as ledger, contextlib.suppress(LedgerDamaged):
        fill(ledger, 1, start=500)
    with pytest.raises(WitnessAlarm) as alarm:
        witness.check()
    assert alarm.value.kind in alarms, (name, alarm.value.kind, str(alarm.value))
    assert witness.state.data["alarms"][-1]["kind"] == alarm.value.kind
    with pytest.raises(WitnessAlarm):  # and it keeps saying so: the state did not move on
        witness.check()


def _journal_mutation(change: Callable[[list[bytes]], list[bytes]]) -> Callable[[Path], None]:
    """Edit the journal's bytes only (whole frames), leaving the indexes as they were."""

    def apply(root: Path) -> None:
        journal = (root / "journal").read_bytes()
        chunks = [journal[f.offset : f.end] for f in frames(root)]
        (root / "journal").write_bytes(b"".join(change(chunks)))

    return apply


def _forged_frame(chunks: list[bytes]) -> list[bytes]:
    from medlake.ledger.storage import encode_frame

    last = SignedHead.unpack(chunks[-1][16 : 16 + 144])
    forged = SignedHead(last.timestamp, last.tree_size + 1, last.root_hash, last.key_id, last.signature)
    return [*chunks, encode_frame(forged, [b'{"kind":"access.read"}'])]


NAIVE = {
    "edit a byte": (lambda root: _flip_in_journal(root, b"G-00005"), 5),
    "delete": (_journal_mutation(lambda c: c[:3] + c[4:]), 3),
    "reorder": (_journal_mutation(lambda c: [*c[:3], c[4], c[3], *c[5:]]), 3),
    "truncate": (_journal_mutation(lambda c: c[:6]), 6),
    "append": (_journal_mutation(_forged_frame), SIZE),
}


def _flip_in_journal(root: Path, marker: bytes) -> None:
    data = bytearray((root / "journal").read_bytes())
    position = data.index(marker)
    data[position + 2] ^= 0x01
    (root / "journal").write_bytes(bytes(data))


@pytest.mark.parametrize("name", list(NAIVE))
def test_changed_journal_bytes_are_named_by_entry(name: str, workspace) -> None:
    with open_ledger(workspace) as ledger:
        fill(ledger, SIZE)
    mutate, first_entry = NAIVE[name]
    mutate(workspace.home / "ledger")
    result = CliRunner().invoke(app, ["ledger", "verify", "--home", str(workspace.home)])
    assert result.exit_code == 1, result.output
    assert f"first: entry {first_entry}:" in result.output.replace("\n", " "), result.output
    with open_ledger(workspace) as ledger:
        try:  # the hub refuses when the journal's end no longer fits its heads; otherwise it appends…
            fill(ledger, 1, start=500)
        except LedgerDamaged:
            assert name in ("delete", "truncate", "append")
        assert not verify(ledger).ok  # …and the damage is still reported
