"""The ledger's API: appends, heads, proofs, keys and rotation, concurrent appenders, secrets."""

from __future__ import annotations

import itertools
import multiprocessing
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medlake.cli import app
from medlake.ledger import Entry, EntryError, ProofError, SigningKeyError, open_ledger
from medlake.ledger.keys import SECRET_NAME, load_signing_key, private_key_text
from medlake.ledger.merkle import root_of, verify_consistency, verify_inclusion
from medlake.ledger.verify import verify
from tests.ledger.helpers import fill, read_entry


def test_appends_make_the_tree_of_their_entries_under_signed_heads(workspace) -> None:
    with open_ledger(workspace) as ledger:
        assert ledger.head() is None and ledger.size() == 0
        assert ledger.append("consent.change", {"person": "G-1", "scope": "research", "status": "given"}) == 0
        batch = ledger.append_batch(read_entry(i) for i in range(1, 40))
        assert batch == range(1, 40)
        fill(ledger, 5, start=40)
        entries = [ledger.entry(i) for i in range(ledger.size())]
        head = ledger.head()
        assert head.tree_size == 45 and head.root_hash == root_of(entries)
        keys = {k.key_id: k.public_key for k in ledger.keyring.public_keys()}
        heads = ledger.heads()
        assert [h.tree_size for h in heads] == [1, 40, 41, 42, 43, 44, 45]
        assert all(h.verify(keys[h.key_id]) for h in heads)
        assert all(h.root_hash == root_of(entries[: h.tree_size]) for h in heads)
        assert [a.timestamp <= b.timestamp for a, b in itertools.pairwise(heads)] == [True] * 6
        assert ledger.document(0)["data"]["status"] == "given"


def test_proofs_from_storage_verify_against_signed_heads(workspace) -> None:
    with open_ledger(workspace) as ledger:
        ledger.append_batch(read_entry(i) for i in range(100))
        fill(ledger, 3, start=100)
        entries = [ledger.entry(i) for i in range(103)]
        for size in (100, 101, 103):
            head = ledger.head_of_size(size)
            for index in range(size):
                proof = ledger.inclusion_proof(index, size)
                assert proof.head == head
                assert verify_inclusion(index, size, proof.leaf_hash, proof.path, head.root_hash)
        for first in (1, 37, 64, 100, 101):
            proof = ledger.consistency_proof(first)
            assert verify_consistency(
                first, 103, root_of(entries[:first]), ledger.head().root_hash, proof.path
            )
        with pytest.raises(ProofError, match="no head of exactly 50"):
            ledger.inclusion_proof(3, 50)
        with pytest.raises(ProofError, match="no entry 103"):
            ledger.inclusion_proof(103)


def test_bad_entries_leave_the_ledger_untouched(workspace) -> None:
    with open_ledger(workspace) as ledger:
        fill(ledger, 2)
        before = ledger.head()
        with pytest.raises(EntryError):
            ledger.append_batch([read_entry(2), Entry("access.read", {"actor": "x"})])
        assert ledger.head() == before and verify(ledger).ok


def test_the_signing_key_stays_in_the_secrets_file(workspace, capsys) -> None:
    with open_ledger(workspace) as ledger:
        fill(ledger, 3)
        key_text = private_key_text(load_signing_key(workspace.home))
    secrets = (workspace.home / "secrets.toml").read_text()
    assert f'{SECRET_NAME} = "{key_text}"' in secrets
    assert oct((workspace.home / "secrets.toml").stat().st_mode & 0o777) == "0o600"
    runner = CliRunner()
    home = str(workspace.home)
    outputs = [
        runner.invoke(app, ["ledger", cmd, "--home", home, "--json"]).output for cmd in ("head", "verify")
    ]
    outputs.append(runner.invoke(app, ["ledger", "prove", "1", "--home", home, "--json"]).output)
    raw = bytes.fromhex(load_signing_key(workspace.home).private_bytes_raw().hex())
    for path in workspace.home.rglob("*"):
        if path.is_file() and path.name != "secrets.toml":
            data = path.read_bytes()
            assert key_text.encode() not in data and raw not in data, path
    assert all(key_text not in out for out in [*outputs, capsys.readouterr().out])


def test_a_changed_secret_is_refused_rather_than_signing_with_an_unknown_key(workspace, monkeypatch) -> None:
    with open_ledger(workspace) as ledger:
        fill(ledger, 1)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    monkeypatch.setenv(SECRET_NAME, private_key_text(Ed25519PrivateKey.generate()))
    with open_ledger(workspace) as ledger, pytest.raises(SigningKeyError, match="rotate-key"):
        fill(ledger, 1)


def test_key_rotation_keeps_old_heads_verifiable(workspace) -> None:
    with open_ledger(workspace) as ledger:
        fill(ledger, 4)
        old_key = load_signing_key(workspace.home)
        record = ledger.rotate_key()
        fill(ledger, 4, start=4)
        assert load_signing_key(workspace.home).public_key() != old_key.public_key()
        keys = ledger.keyring.public_keys()
        assert [k.key_id for k in keys] == [record.previous_key_id, record.key_id]
        heads = ledger.heads()
        by_key = {k.key_id: k.public_key for k in keys}
        assert [h.key_id == keys[0].key_id for h in heads] == [True] * 5 + [False] * 4
        assert all(h.verify(by_key[h.key_id]) for h in heads)
        assert not heads[0].verify(keys[1].public_key)
        rotation = ledger.document(4)
        assert rotation["kind"] == "ledger.key-rotation" and rotation["data"]["key_id"] == record.key_id.hex()
        report = verify(ledger)
        assert report.ok, report.findings


def test_a_rotation_interrupted_after_the_new_secret_is_finished_by_the_next_append(workspace) -> None:
    with open_ledger(workspace) as ledger:
        fill(ledger, 2)
        record = ledger.rotate_key()
    keys_file = workspace.home / "ledger" / "keys.json"
    import json

    keys = json.loads(keys_file.read_text())
    keys_file.write_text(json.dumps({"keys": keys["keys"][:1]}))  # as if killed before keys.json was written
    with open_ledger(workspace) as ledger:
        fill(ledger, 1, start=2)
        assert ledger.head().key_id == record.key_id
        assert [k.key_id for k in ledger.keyring.public_keys()][-1] == record.key_id
        assert verify(ledger).ok


def _append_worker(home: str, worker: int, count: int) -> None:
    with open_ledger(home, sync=False) as ledger:
        for index in range(count):
            if index % 5 == 0:
                ledger.append_batch(read_entry(worker * 1000 + index + j) for j in range(3))
            else:
                ledger.append_batch([read_entry(worker * 1000 + index)])


def test_concurrent_appenders_in_several_processes_never_fork_the_log(workspace) -> None:
    with open_ledger(workspace) as ledger:
        fill(ledger, 1)  # the key exists before the workers race
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_worker, args=(str(workspace.home), w, 60)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    with open_ledger(workspace) as ledger:
        assert ledger.size() == 1 + 4 * (60 + 12 * 2)
        sizes = [h.tree_size for h in ledger.heads()]
        assert sizes == sorted(set(sizes)) and len(sizes) == 1 + 4 * 60
        persons = sorted(ledger.document(i)["data"]["person"] for i in range(ledger.size()))
        assert len(persons) == ledger.size()
        report = verify(ledger)
        assert report.ok, report.findings


def test_cli_head_prove_verify(workspace) -> None:
    with open_ledger(workspace) as ledger:
        fill(ledger, 6)
    runner = CliRunner()
    home = str(workspace.home)
    head = runner.invoke(app, ["ledger", "head", "--home", home])
    assert head.exit_code == 0 and "entries" in head.output and "6" in head.output
    proof = runner.invoke(app, ["ledger", "prove", "4", "--home", home, "--json"])
    assert proof.exit_code == 0, proof.output
    import json

    data = json.loads(proof.output)
    assert data["leaf_index"] == 4 and data["tree_size"] == 6 and data["entry"]["data"]["person"] == "G-00004"
    assert runner.invoke(app, ["ledger", "prove", "6", "--home", home]).exit_code == 1
    ok = runner.invoke(app, ["ledger", "verify", "--home", home])
    assert ok.exit_code == 0 and "everything matches" in ok.output
    partial = runner.invoke(app, ["ledger", "verify", "--from", "4", "--home", home, "--json"])
    assert partial.exit_code == 0 and json.loads(partial.output)["checked_from"] == 4


def test_verify_from_a_size_checks_only_what_follows(workspace) -> None:
    with open_ledger(workspace) as ledger:
        fill(ledger, 10)
        journal = Path(ledger.root / "journal")
        data = bytearray(journal.read_bytes())
        position = data.index(b"G-00002")
        data[position : position + 7] = b"G-00099"
        journal.write_bytes(bytes(data))
        assert verify(ledger).first.entry == 2
        later = verify(ledger, from_size=5)
        assert later.ok and later.checked_from == 5
        assert os.environ.get(SECRET_NAME) is None
