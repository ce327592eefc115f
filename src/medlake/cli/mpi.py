"""``medlake link review|split|history``: the data steward's side of the master patient index.

The model links what it is sure of; everything else lands in a review queue. A steward lists the
queue, looks at the evidence of one pair, and accepts or rejects it; a wrong link is undone with
``split``. Every one of these acts is an event in ``history`` with who did it and why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from medlake.cli.options import Home, JsonOutput
from medlake.cli.output import console, print_json, table, workspace_or_exit

if TYPE_CHECKING:
    from medlake.mpi import MasterPatientIndex
    from medlake.mpi.store import ReviewItem

review_app = typer.Typer(
    help="Pairs of patient records a clerk must decide on: list, show, accept, reject.",
    invoke_without_command=True,
)

Actor = Annotated[
    str | None,
    typer.Option("--by", help="who decides (default: the actor setting, MEDLAKE_ACTOR, or the OS user)"),
]
Note = Annotated[str | None, typer.Option("--note", help="why: kept in the audit trail")]
Override = Annotated[bool, typer.Option("--override", help="change a decision already made (needs --reason)")]
OverrideReason = Annotated[
    str | None, typer.Option("--reason", help="why the earlier decision is overridden: kept in the history")
]


def _index(home) -> MasterPatientIndex:
    from medlake.mpi import MasterPatientIndex

    return MasterPatientIndex(workspace_or_exit(home))


def _item_dict(item: ReviewItem, persons: tuple[str | None, str | None] = (None, None)) -> dict[str, object]:
    return {
        "id": item.id,
        "patient_l": item.patient_l,
        "patient_r": item.patient_r,
        "person_l": persons[0],
        "person_r": persons[1],
        "status": item.status,
        "match_probability": item.match_probability,
        "reason": item.reason,
        "evidence": item.evidence,
        "decided_by": item.decided_by,
        "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        "note": item.note,
    }


def _persons(mpi: MasterPatientIndex, item: ReviewItem) -> tuple[str | None, str | None]:
    left, right = mpi.store.member(item.patient_l), mpi.store.member(item.patient_r)
    return (left.person_id if left else None, right.person_id if right else None)


@review_app.callback()
def review_list(
    ctx: typer.Context,
    home: Home = None,
    status: Annotated[str, typer.Option(help="pending | accepted | rejected | superseded | all")] = "pending",
    limit: Annotated[int, typer.Option(help="show at most this many, most probable first")] = 50,
    json_output: JsonOutput = False,
) -> None:
    """List review items (pending ones by default), most probable match first."""
    from medlake.catalog.statuses import ReviewStatus

    if ctx.invoked_subcommand is not None:
        return
    mpi = _index(home)
    items = mpi.review_queue(None if status == "all" else status, limit)
    if json_output:
        print_json([_item_dict(i, _persons(mpi, i)) for i in items])
        return
    rows = [
        (
            i.id,
            i.patient_l,
            i.patient_r,
            f"{i.match_probability:.3f}" if i.match_probability else "",
            i.reason,
            i.status,
        )
        for i in items
    ]
    console.print(
        table(f"review queue ({status})", ["id", "record", "record", "probability", "why", "status"], rows)
    )
    if status == ReviewStatus.PENDING and items:
        console.print("`medlake link review show ID` for the evidence; `accept ID` or `reject ID` to decide.")


@review_app.command("show")
def review_show(
    review_id: Annotated[int, typer.Argument(metavar="ID")],
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """One pair with its evidence: each comparison, its level, its weight, both values."""
    mpi = _index(home)
    item = mpi.review_item(review_id)
    if json_output:
        print_json(_item_dict(item, _persons(mpi, item)))
        return
    left, right = _persons(mpi, item)
    console.print(
        f"review {item.id} ({item.status}): {item.patient_l} (person {left}) "
        f"vs {item.patient_r} (person {right}); match probability {item.match_probability:.4f}; {item.reason}"
    )
    rows = [
        (
            e["comparison"],
            e["level"],
            f"{e['match_weight']:+.2f}",
            ", ".join(str(v) for v in e["left"].values() if v is not None),
            ", ".join(str(v) for v in e["right"].values() if v is not None),
        )
        for e in item.evidence or []
    ]
    console.print(table("evidence", ["comparison", "level", "weight", item.patient_l, item.patient_r], rows))


@review_app.command("accept")
def review_accept(
    review_id: Annotated[int, typer.Argument(metavar="ID")],
    home: Home = None,
    by: Actor = None,
    note: Note = None,
    override: Override = False,
    reason: OverrideReason = None,
    json_output: JsonOutput = False,
) -> None:
    """The two records are one person: merge their persons now and in every later run.

    A pair already decided is refused; --override --reason '…' changes the decision, and the
    history records who overrode which decision and why.
    """
    _decide(
        home,
        review_id,
        accept=True,
        by=by,
        note=note,
        override=_override(override, reason),
        json_output=json_output,
    )


@review_app.command("reject")
def review_reject(
    review_id: Annotated[int, typer.Argument(metavar="ID")],
    home: Home = None,
    by: Actor = None,
    note: Note = None,
    override: Override = False,
    reason: OverrideReason = None,
    json_output: JsonOutput = False,
) -> None:
    """The two records are different people: keep them apart in every later run.

    A pair already decided is refused; --override --reason '…' changes the decision, and the
    history records who overrode which decision and why.
    """
    _decide(
        home,
        review_id,
        accept=False,
        by=by,
        note=note,
        override=_override(override, reason),
        json_output=json_output,
    )


def _override(override: bool, reason: str | None) -> str | None:
    if reason is not None and not override:
        raise typer.BadParameter("--reason goes with --override (a first decision's why is --note)")
    if override and not (reason or "").strip():
        raise typer.BadParameter("--override needs --reason '…': the history keeps why a decision changed")
    return reason if override else None


def _decide(
    home,
    review_id: int,
    *,
    accept: bool,
    by: str | None,
    note: str | None,
    override: str | None,
    json_output: bool,
) -> None:
    mpi = _index(home)
    item = (mpi.accept if accept else mpi.reject)(review_id, actor=by, note=note, override=override)
    persons = _persons(mpi, item)
    if json_output:
        print_json(_item_dict(item, persons))
        return
    verdict = f"one person: {persons[0]}" if accept else f"kept apart: {persons[0]} and {persons[1]}"
    console.print(f"review {item.id} {item.status} by {item.decided_by}; {verdict}")


def split(
    patient_id: Annotated[str, typer.Argument(help="the record to take out, as <institution>.<id>")],
    home: Home = None,
    by: Actor = None,
    note: Note = None,
    json_output: JsonOutput = False,
) -> None:
    """Take a wrongly linked record out of its person into a new person, for good."""
    mpi = _index(home)
    old = mpi.person_of(patient_id)
    new = mpi.split(patient_id, actor=by, note=note)
    if json_output:
        print_json({"patient_id": patient_id, "from_person": old, "to_person": new})
        return
    console.print(f"{patient_id} moved from {old} to new person {new}; later runs keep them apart")


def history(
    person: Annotated[
        str | None, typer.Option("--person", help="only events of this global person id")
    ] = None,
    patient: Annotated[
        str | None, typer.Option("--patient", help="only events of this patient record")
    ] = None,
    limit: Annotated[int, typer.Option(help="show the newest N events")] = 100,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Every change to the global <-> node map: creations, attachments, merges, splits, clerk decisions."""
    mpi = _index(home)
    events = mpi.history(person_id=person, patient_id=patient)[-limit:]
    if json_output:
        print_json([e.as_dict() for e in events])
        return
    rows = [
        (
            e.id,
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            e.kind,
            e.person_id,
            e.other_person_id or "",
            ", ".join((e.details or {}).get("patient_ids", [])[:4]),
            e.reason or "",
            e.actor,
        )
        for e in events
    ]
    console.print(
        table(
            "master patient index history",
            ["#", "at (UTC)", "event", "person", "other", "records", "why", "by"],
            rows,
        )
    )
