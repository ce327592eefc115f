"""``medlake ledger``: the signed head, inclusion proofs, full verification, witnesses, key rotation.

``head``, ``prove`` and ``verify`` read the workspace's ``ledger/`` folder; ``witness`` runs
anywhere with only the hub's URL, its own key and its own state file (an institution runs it
against the region's hub). Exit codes: ``verify`` 1 when anything does not match; ``witness``
2 on an alarm (fork, rewrite, rollback, replayed head, bad signature), 1 when the hub cannot
be asked.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medlake.cli.options import Home, JsonOutput
from medlake.cli.output import console, errors, fail, print_json, table, workspace_or_exit

if TYPE_CHECKING:
    from medlake.ledger import Ledger
    from medlake.ledger.heads import SignedHead

app = typer.Typer(no_args_is_help=True, help="The ledger: an append-only, verifiable log (RFC 9162).")
witnesses_app = typer.Typer(no_args_is_help=True, help="Witnesses whose co-signatures this hub accepts.")
app.add_typer(witnesses_app, name="witnesses")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="ledger")


def _ledger(home: Path | None) -> Ledger:
    from medlake.ledger import open_ledger

    return open_ledger(workspace_or_exit(home))


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def _head_rows(head: SignedHead) -> list[tuple[str, Any]]:
    return [
        ("entries", head.tree_size),
        ("root hash", head.root_hash.hex()),
        ("signed at", _when(head.timestamp)),
        ("key id", head.key_id.hex()),
    ]


@app.command("head")
def head_command(home: Home = None, json_output: JsonOutput = False) -> None:
    """The latest signed tree head and the witnesses' co-signatures."""
    from medlake.ledger.cosigning import CosignatureStore

    with _ledger(home) as ledger:
        head = ledger.head()
        cosigned = CosignatureStore(ledger).latest()
    if head is None:
        if json_output:
            print_json({"head": None, "cosignatures": []})
            return
        console.print("the ledger is empty: nothing has been appended yet")
        return
    if json_output:
        print_json(
            {"head": head.to_json(), "cosignatures": [{"witness": w.name} | c.to_json() for w, c in cosigned]}
        )
        return
    console.print(table("signed tree head", ["field", "value"], _head_rows(head)))
    if cosigned:
        rows = [(w.name, c.head.tree_size, _when(c.cosigned_at)) for w, c in cosigned]
        console.print(table("co-signed by", ["witness", "entries", "at"], rows))
    else:
        console.print("no witness has co-signed yet")


@app.command("prove")
def prove_command(
    entry: Annotated[int, typer.Argument(help="the entry's index (0 is the first entry)")],
    size: Annotated[
        int | None, typer.Option(help="prove against the head of this many entries (default: latest)")
    ] = None,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """An RFC 9162 inclusion proof of one entry, checked before it is printed."""
    from medlake.ledger import ProofError
    from medlake.ledger.merkle import verify_inclusion

    with _ledger(home) as ledger:
        try:
            proof = ledger.inclusion_proof(entry, size)
            document = ledger.document(entry)
        except ProofError as exc:
            raise fail(str(exc)) from None
    if not verify_inclusion(
        proof.index, proof.head.tree_size, proof.leaf_hash, proof.path, proof.head.root_hash
    ):
        raise fail(f"the proof of entry {entry} does not verify: run `medlake ledger verify`")
    if json_output:
        print_json(proof.to_json() | {"entry": document})
        return
    console.print(
        table(
            f"entry {entry}",
            ["field", "value"],
            [
                ("kind", document.get("kind")),
                ("logged at", document.get("logged_at")),
                ("leaf hash", proof.leaf_hash.hex()),
            ],
        )
    )
    console.print(
        table("inclusion path (leaf side first)", ["#", "hash"], list(enumerate(h.hex() for h in proof.path)))
    )
    console.print(table("against the head", ["field", "value"], _head_rows(proof.head)))


@app.command("verify")
def verify_command(
    from_size: Annotated[
        int,
        typer.Option("--from", help="start at the head covering this many entries, trusting what is before"),
    ] = 0,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Recompute the whole tree from the journal and check every head, index and co-signature."""
    from medlake.ledger.verify import verify as verify_ledger

    with _ledger(home) as ledger:
        report = verify_ledger(ledger, from_size)
    if json_output:
        print_json(report.to_json())
    else:
        for note in report.notes:
            errors.print(f"[yellow]note:[/yellow] {note}")
        if report.ok:
            console.print(
                f"ok: {report.size} entries from entry {report.checked_from}, {report.heads} signed heads, "
                f"{report.cosignatures} co-signatures: everything matches"
            )
        else:
            errors.print(f"[red]the ledger does not verify[/red] — first: {report.first}")
            for finding in report.findings:
                errors.print(f"  {finding}")
            if report.more_findings:
                errors.print(f"  … and {report.more_findings} more")
    if not report.ok:
        raise typer.Exit(1)


@app.command("rotate-key")
def rotate_key_command(home: Home = None, json_output: JsonOutput = False) -> None:
    """Sign from now on with a new key, endorsed by the current one (old heads stay verifiable)."""
    from medlake.ledger import LedgerDamaged, SigningKeyError

    with _ledger(home) as ledger:
        try:
            record = ledger.rotate_key()
        except (SigningKeyError, LedgerDamaged) as exc:
            raise fail(str(exc)) from None
    if json_output:
        print_json(record.to_json())
        return
    console.print(f"new signing key {record.key_id.hex()} (endorsed by {record.previous_key_id.hex()})")


@app.command("witness")
def witness_command(
    hub: Annotated[str, typer.Option(help="the hub's base URL, e.g. https://hub.region.example")],
    key: Annotated[
        Path | None, typer.Option(help="this witness's private key file (created if absent)")
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="this witness's state file (last head seen, alarms)")
    ] = None,
    log_key: Annotated[
        str | None,
        typer.Option(help="the hub's first public key (base64), instead of trusting it on first use"),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="check once and exit (0 ok, 1 hub unreachable, 2 alarm)")
    ] = False,
    interval: Annotated[float, typer.Option(help="seconds between checks")] = 30.0,
) -> None:
    """An independent witness: verify each new head extends the last one seen, co-sign it, alarm if not."""
    from medlake.ledger import SigningKeyError
    from medlake.ledger.witness import default_paths, run

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    default_key, default_state = default_paths()
    try:
        code = run(
            hub, key or default_key, state or default_state, once=once, interval=interval, log_key=log_key
        )
    except (SigningKeyError, ValueError) as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(code)


@witnesses_app.command("add")
def witnesses_add(
    name: Annotated[str, typer.Argument(help="who runs the witness, e.g. hosp-north")],
    public_key: Annotated[
        str, typer.Argument(help="the witness's public key (base64; the witness prints it)")
    ],
    home: Home = None,
) -> None:
    """Accept co-signatures from this witness."""
    from medlake.ledger import open_ledger
    from medlake.ledger.cosigning import WitnessRegistry

    ws = workspace_or_exit(home)
    try:
        witness = WitnessRegistry(open_ledger(ws).root).add(name, public_key)
    except ValueError as exc:
        raise fail(str(exc)) from None
    console.print(f"witness {witness.name} registered (key id {witness.key_id.hex()[:16]}…)")


@witnesses_app.command("list")
def witnesses_list(home: Home = None, json_output: JsonOutput = False) -> None:
    """The registered witnesses and the last head each co-signed."""
    from medlake.ledger.cosigning import CosignatureStore

    with _ledger(home) as ledger:
        store = CosignatureStore(ledger)
        latest = {w.key_id: c for w, c in store.latest()}
        rows = [(w, latest.get(w.key_id)) for w in store.registry.witnesses()]
    if json_output:
        print_json([w.to_json() | {"cosigned": c.to_json() if c else None} for w, c in rows])
        return
    view = [
        (w.name, w.key_id.hex()[:16], c.head.tree_size if c else "—", _when(c.cosigned_at) if c else "—")
        for w, c in rows
    ]
    console.print(table("witnesses", ["name", "key id", "co-signed entries", "at"], view))
