"""One run of the master patient index: link what is new or changed, keep everyone else's id.

The first run (or ``full=True``) trains a model on every patient record and links them all.
Later runs load the stored model and score only new and changed records against the existing
ones (``LinkageModel.score_new``): existing persons stay as they are and can only grow, merge
with another person (a new record or a clerk links them) or lose a record (it changed or left
its source). Clerk decisions and the institutions' own Patient.link statements are applied on
every run, full or incremental. The run's outcome is written to the catalog in one transaction,
then ``warehouse.person_link`` is rewritten from it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from splink.internals.exceptions import EMTrainingException

from medlake.catalog import BuiltTable
from medlake.catalog.statuses import EventKind
from medlake.errors import NotReady
from medlake.link.clustering import pair_links, verified_identifier_map
from medlake.link.decisions import Decision, Reason, decide
from medlake.link.grouping import BASIS_SINGLE, Grouping, Link, Strength, group_records
from medlake.link.model import LinkageModel
from medlake.link.records import RecordError
from medlake.link.scores import PairScores
from medlake.link.settings import LinkSettings
from medlake.mpi.cache import standardised_records
from medlake.mpi.members import RUN_JOB, Changes, MemberMap, load_members, save_members
from medlake.mpi.publish import PERSON_LINK, table_version, write_person_link
from medlake.mpi.reconcile import Assignment, assign_persons
from medlake.mpi.records import SOURCE_TABLE, person_records, source_links
from medlake.mpi.store import MEMBER_SCHEMA, IssuedIds, Member, MpiStore, RunChanges, current_actor
from medlake.workspace import Workspace

BASIS_TRANSITIVE = "linked through another record of the person"
REASON_ACCEPTED = "accepted by a clerk"
REASON_REJECTED = "rejected by a clerk"


@dataclass(frozen=True)
class IndexRunReport:
    """What one run of the index did."""

    mode: str
    records: int
    new: int
    changed: int
    removed: int
    persons: int
    created: int
    merged: int
    split: int
    retired: int
    pairs_scored: int
    pairs_matched: int
    review_new: int
    review_pending: int
    source_links: int
    table: str
    version: int
    partial_birth_dates: int = 0
    #: "trained", "stored" (incremental), or why no model could be trained (then only shared
    #: verified ids, the institutions' own links and clerk decisions link records).
    model: str = "trained"
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["seconds"] = {k: round(v, 3) for k, v in self.seconds.items()}
        return out


def link_settings(workspace: Workspace) -> LinkSettings:
    """The region's linkage settings from the workspace (``[link]`` in medlake.toml, MEDLAKE_LINK__*)."""
    config = workspace.settings
    return LinkSettings(
        match_threshold=config.link.match_threshold,
        review_threshold=config.link.review_threshold,
        identifier_check=config.link.identifier_check,
        # Splink's DuckDB and linkage's own queries get the workspace's engine limits
        threads=config.engine_threads,
        memory_limit=config.engine_memory_limit,
    )


def run_index(
    workspace: Workspace,
    settings: LinkSettings | None = None,
    *,
    full: bool = False,
    actor: str | None = None,
) -> IndexRunReport:
    """Link the warehouse's patients into persons and update the index and ``warehouse.person_link``.

    ``settings`` default to the workspace's (``link_settings``). The run's steps: read what is
    there (:func:`_read`), score pairs (:func:`_score`), group records into persons
    (:func:`_group`), store the outcome in one catalog transaction (:func:`_store`), publish it
    (:func:`_publish`).
    """
    settings = settings or link_settings(workspace)
    seconds: dict[str, float] = {}
    with _timed(seconds, "read"):
        run = _read(workspace)
    mode = "full" if full or not len(run.members) or run.model_json is None else "incremental"
    with workspace.catalog.job(RUN_JOB, {"mode": mode}) as job:
        scored = _score(workspace, run, settings, mode, seconds)
        with _timed(seconds, "group"):
            grouped = _group(run, scored, settings, mode)
        with _timed(seconds, "store"):
            review = _store(run, scored, grouped, mode, job.id, actor or current_actor(workspace.settings))
        with _timed(seconds, "write"):
            built, version = _publish(workspace, run.store, grouped.after, job.id)
        report = _report(run, scored, grouped, review, mode, version, seconds)
        job.summary.update({"tables": [report.table] if built else [], **report.as_dict()})
    return report


@contextmanager
def _timed(seconds: dict[str, float], step: str) -> Iterator[None]:
    clock = time.perf_counter()
    yield
    seconds[step] = time.perf_counter() - clock


@dataclass
class _Run:
    """What a run starts from: the current records, the index as it stands, every clerk decision."""

    records: pd.DataFrame
    partial_dates: int
    asserted: pd.DataFrame  # the institutions' own Patient.link statements
    record_ids: pa.Array
    fingerprints: pa.Array
    store: MpiStore
    members: MemberMap
    changes: Changes
    accepted: list[tuple[str, str]]
    rejected: list[tuple[str, str]]
    model_json: str | None

    @property
    def relink(self) -> set[str]:
        return self.changes.new | self.changes.changed


def _read(workspace: Workspace) -> _Run:
    records, partial_dates = person_records(workspace)
    if records.empty:
        raise NotReady(f"{SOURCE_TABLE} has no rows: there is nobody to link")
    record_ids = pa.array(records["record_id"], pa.string())
    fingerprints = pa.array(records["fingerprint"], pa.string())
    store = MpiStore(workspace.catalog)
    members = load_members(workspace, store)
    with workspace.engine() as engine:
        changes = members.compare(engine, record_ids, fingerprints)
    accepted, rejected = store.decisions()
    return _Run(
        records,
        partial_dates,
        source_links(workspace),
        record_ids,
        fingerprints,
        store,
        members,
        changes,
        accepted,
        rejected,
        store.latest_model(),
    )


@dataclass
class _Scored:
    """The model and the pairs it scored; ``untrained`` says why there is no model, if there is none."""

    model: LinkageModel | None
    scores: PairScores
    standardised: pa.Table | None
    untrained: str | None = None


def _score(
    workspace: Workspace, run: _Run, settings: LinkSettings, mode: str, seconds: dict[str, float]
) -> _Scored:
    """A full run trains a model on every record and scores them all; an incremental one scores the
    new and changed records with the stored model."""
    if mode != "full":
        with _timed(seconds, "score"):
            model = LinkageModel.from_dict(json.loads(run.model_json)).with_settings(settings)  # type: ignore[arg-type]
            scores, standardised = _score_incremental(workspace, model, run.records, run.relink)
        return _Scored(model, scores, standardised)
    with _timed(seconds, "train"):
        table = standardised_records(workspace, run.records)
        try:
            model: LinkageModel | None = LinkageModel.train(table, settings)
            untrained = None
        except (EMTrainingException, RecordError) as exc:
            # Too few or too sparse records to estimate a model (a region's first small
            # delivery): link on what needs no model, and train again on the next run.
            model, untrained = None, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    with _timed(seconds, "score"):
        scores = model.score(table) if model else PairScores(pd.DataFrame(), {})
    return _Scored(model, scores, table, untrained)


@dataclass
class _Grouped:
    """The records in scope grouped into persons, and the member map after the run."""

    pairs: pd.DataFrame
    scope: set[str]
    before: dict[str, Member]  # the scope's records as they were linked
    grouping: Grouping
    assignment: Assignment
    scope_rows: pa.Table
    after: MemberMap


def _group(run: _Run, scored: _Scored, settings: LinkSettings, mode: str) -> _Grouped:
    """Decide the pairs, collect the links, group the records they reach and give each group its person.

    Records outside the scope keep their person and basis; the scope's are reassigned.
    """
    new, removed = run.changes.new, run.changes.removed
    pairs = _decided_pairs(scored.scores, settings, run.accepted, run.rejected)
    links = _links(pairs, run.accepted, run.asserted, run.record_ids)
    if scored.model is None:
        links += _shared_identifier_links(scored.standardised, settings)
    if mode == "full":
        scope, start_groups = set(run.record_ids.to_pylist()), []
    else:
        links, scope, start_groups = _incremental_scope(links, run.members, run.relink, removed)
    before = run.members.rows(scope - new)
    grouping = group_records(
        sorted(scope),
        links,
        _verified_identifiers(scored.standardised, settings, scope),
        _cannot_link(run.rejected, scope),
        start_groups,
    )
    assignment = assign_persons(
        grouping.groups(),
        previous={pid: member.person_id for pid, member in before.items()},
        known_ids=IssuedIds(run.store),
        age_rank=_AgeRank(run.store),
        removed=removed,
    )
    basis = _basis(assignment, grouping, before)
    prints = _fingerprints(run.record_ids, run.fingerprints, scope)
    scope_rows = _member_rows(sorted(scope), assignment.person_of, prints, basis)
    after = run.members.replaced(scope | removed.keys(), scope_rows)
    return _Grouped(pairs, scope, before, grouping, assignment, scope_rows, after)


def _store(run: _Run, scored: _Scored, grouped: _Grouped, mode: str, job_id: str, actor: str) -> list[dict]:
    """Write the run's outcome to the index in one transaction; returns the new review candidates."""
    new, before, scope_rows, assignment = (
        run.changes.new,
        grouped.before,
        grouped.scope_rows,
        grouped.assignment,
    )
    pending = run.store.pending_pairs()
    persons_now = _persons_after(grouped.after, grouped.pairs, pending, assignment.person_of)
    review = _review_candidates(grouped.pairs, scored.scores, grouped.grouping, persons_now)
    superseded = [
        (left, right)
        for left, right in pending
        if left not in persons_now or right not in persons_now or persons_now[left] == persons_now[right]
    ]
    run.store.apply(
        RunChanges(
            job_id=job_id,
            actor=actor,
            members_new=[row for row in scope_rows.to_pylist() if row["patient_id"] in new] if new else [],
            members_updated=[
                {k: v for k, v in row.items() if k != "institution"}
                for row in scope_rows.filter(
                    pc.is_in(scope_rows.column("patient_id"), value_set=pa.array(list(before), pa.string()))
                ).to_pylist()
                if tuple(before[row["patient_id"]]) != tuple(row.values())
            ],
            members_removed=sorted(run.changes.removed),
            persons_created=assignment.created,
            persons_merged=assignment.merged,
            persons_retired=assignment.retired,
            changes=assignment.changes,
            review_candidates=review,
            review_superseded=superseded,
            model_json=json.dumps(scored.model.to_dict()) if mode == "full" and scored.model else None,
            model_records=len(run.records) if mode == "full" else 0,
        )
    )
    return review


def _publish(
    workspace: Workspace, store: MpiStore, after: MemberMap, job_id: str
) -> tuple[BuiltTable | None, int | None]:
    """Rewrite ``warehouse.person_link`` from the index (unless it shows this state already) and leave
    the member map for the next run; returns the table written (None if none was) and its version."""
    state = store.state()
    built = write_person_link(workspace, after.table, job_id, state)
    save_members(workspace, after, state, job_id)
    return built, built.version if built else table_version(workspace, PERSON_LINK)


def _report(
    run: _Run,
    scored: _Scored,
    grouped: _Grouped,
    review: list[dict],
    mode: str,
    version: int | None,
    seconds: dict[str, float],
) -> IndexRunReport:
    assignment, pairs = grouped.assignment, grouped.pairs
    kinds = Counter(c.kind for c in assignment.changes)
    if scored.untrained:
        model = f"not trained ({scored.untrained})"
    else:
        model = "trained" if mode == "full" else "stored"
    return IndexRunReport(
        mode=mode,
        records=len(run.records),
        new=len(run.changes.new),
        changed=len(run.changes.changed),
        removed=len(run.changes.removed),
        persons=pc.count_distinct(grouped.after.table.column("person_id")).as_py(),
        created=len(assignment.created),
        merged=len(assignment.merged),
        split=kinds.get(EventKind.SPLIT, 0),
        retired=len(assignment.retired),
        pairs_scored=len(pairs),
        pairs_matched=int((pairs["decision"] == Decision.MATCH).sum()) if len(pairs) else 0,
        review_new=len(review),
        review_pending=run.store.pending_count(),
        source_links=len(run.asserted),
        table=PERSON_LINK,
        version=version,  # type: ignore[arg-type]
        partial_birth_dates=run.partial_dates,
        model=model,
        seconds=seconds,
    )


def _member_rows(
    records: list[str], person_of: dict[str, str], prints: dict[str, str], basis: dict[str, str]
) -> pa.Table:
    """The member rows (``MEMBER_SCHEMA``) of ``records`` after this run, built column by column."""
    ids = pa.array(records, pa.string())
    institution = pc.list_element(pc.split_pattern(ids, ".", max_splits=1), 0)
    columns = {
        "patient_id": ids,
        "institution": institution,
        "person_id": pa.array([person_of[r] for r in records], pa.string()),
        "fingerprint": pa.array([prints[r] for r in records], pa.string()),
        "basis": pa.array([basis[r] for r in records], pa.string()),
    }
    return pa.table([columns[name] for name in MEMBER_SCHEMA.names], schema=MEMBER_SCHEMA)


def _fingerprints(ids: pa.Array, prints: pa.Array, scope: set[str]) -> dict[str, str]:
    """record -> fingerprint for the scope's records (all of them in a full run)."""
    if len(scope) < len(ids):
        keep = pc.is_in(ids, value_set=pa.array(sorted(scope), pa.string()))
        ids, prints = ids.filter(keep), prints.filter(keep)
    return dict(zip(ids.to_pylist(), prints.to_pylist(), strict=True))


def _persons_after(
    after: MemberMap, pairs: pd.DataFrame, pending: list[tuple[str, str]], person_of: dict[str, str]
) -> dict[str, str]:
    """record -> person after this run, for every record a scored or pending pair names.

    Records that left the source have none, so ``record in result`` also says "still here".
    """
    named = (
        {str(r) for r in pairs["record_id_l"]} | {str(r) for r in pairs["record_id_r"]}
        if len(pairs)
        else set()
    )
    named |= {r for pair in pending for r in pair}
    outside = after.rows(named - person_of.keys())
    return {pid: member.person_id for pid, member in outside.items()} | {
        pid: person for pid, person in person_of.items() if pid in named
    }


class _AgeRank:
    """Sort key oldest-first for existing person ids; creation times are read only for the ids a
    merge compares."""

    def __init__(self, store: MpiStore) -> None:
        self.store = store
        self.created: dict[str, object] = {}

    def __call__(self, person: str) -> tuple:
        if person not in self.created:
            self.created[person] = self.store.created_at(person)
        created = self.created[person]
        return (0, created, person) if created is not None else (1, None, person)


# ---------------------------------------------------------------------- scoring


def _score_incremental(
    workspace: Workspace, model: LinkageModel, records: pd.DataFrame, relink: set[str]
) -> tuple[PairScores, pa.Table | None]:
    """Pairs involving a new or changed record; none among the records already linked."""
    if not relink:
        return PairScores(pd.DataFrame(), {}), None
    table = standardised_records(workspace, records)
    is_new = pc.is_in(table.column("record_id"), value_set=pa.array(sorted(relink), pa.string()))
    fresh = table.filter(is_new)
    if fresh.num_rows == table.num_rows:
        return model.score(fresh), table
    return model.score_new(fresh, table.filter(pc.invert(is_new))), table


def _incremental_scope(
    links: list[Link], members: MemberMap, relink: set[str], removed: dict[str, str]
) -> tuple[list[Link], set[str], list[list[str]]]:
    """What an incremental run may change: the links that matter, the records they reach, and the
    existing persons those records belong to (as start groups).

    A link matters when it involves a new or changed record, or joins two different persons;
    clerk and source links between records of one person are already in force. The scope holds
    the relinked records and every unchanged record of a person that a link reaches, that lost a
    changed record, or that lost a removed one; persons outside it are left exactly as they are.
    """
    known = members.rows({r for link in links for r in (link.left, link.right)} | relink)

    def person(record: str) -> str | None:
        member = known.get(record)
        return None if member is None or record in relink else member.person_id

    relevant = [
        link
        for link in links
        if link.left in relink or link.right in relink or person(link.left) != person(link.right)
    ]
    touched = {p for link in relevant for p in (person(link.left), person(link.right)) if p is not None}
    touched |= {known[r].person_id for r in relink if r in known} | set(removed.values())
    groups = [
        kept
        for records in members.records_of(touched).values()
        if (kept := [r for r in records if r not in relink and r not in removed])
    ]
    scope = set(relink).union(*groups)
    return relevant, scope, groups


def _decided_pairs(
    scores: PairScores,
    settings: LinkSettings,
    accepted: list[tuple[str, str]],
    rejected: list[tuple[str, str]],
) -> pd.DataFrame:
    """The model's decisions, overridden by every clerk decision ever made on the same pair."""
    if scores.pairs.empty:
        return pd.DataFrame(columns=["record_id_l", "record_id_r", "match_probability", "decision", "reason"])
    pairs = decide(scores, settings)
    key = pairs["record_id_l"].astype(str) + "\x1f" + pairs["record_id_r"].astype(str)
    for decided, decision, reason in (
        (accepted, Decision.MATCH, REASON_ACCEPTED),
        (rejected, Decision.NON_MATCH, REASON_REJECTED),
    ):
        mask = key.isin({f"{left}\x1f{right}" for left, right in decided})
        pairs.loc[mask, "decision"] = str(decision)
        pairs.loc[mask, "reason"] = reason
    return pairs


def _links(
    pairs: pd.DataFrame, accepted: list[tuple[str, str]], asserted: pd.DataFrame, record_ids: pa.Array
) -> list[Link]:
    named = (
        {r for pair in accepted for r in pair}
        | set(asserted["patient_id"])
        | set(asserted["other_patient_id"])
    )
    current = _present(named, record_ids)
    links = [
        Link(left, right, Strength.CLERK) for left, right in accepted if left in current and right in current
    ]
    for patient, other in zip(asserted["patient_id"], asserted["other_patient_id"], strict=True):
        if patient in current and other in current and patient != other:
            left, right = sorted((patient, other))
            links.append(Link(left, right, Strength.SOURCE))
    return links + pair_links(pairs)


def _verified_identifiers(table: pa.Table | None, settings: LinkSettings, scope: set[str]) -> dict[str, str]:
    """record -> national id, for ids the settings trust and that pass the configured check digit
    (the standalone path's function: the same ids count, and the same warning is given)."""
    return verified_identifier_map(table, settings, scope)


def _shared_identifier_links(table: pa.Table | None, settings: LinkSettings) -> list[Link]:
    """Without a model, records sharing a verified national id are still one person (rule 1)."""
    verified = _verified_identifiers(table, settings, set())
    by_id: dict[str, list[str]] = {}
    for patient, identifier in verified.items():
        by_id.setdefault(identifier, []).append(patient)
    links = []
    for records in by_id.values():
        records.sort()
        links += [Link(records[0], other, Strength.IDENTIFIER) for other in records[1:]]
    return links


def _present(candidates: set[str], record_ids: pa.Array) -> set[str]:
    """Those of ``candidates`` that are current records."""
    if not candidates:
        return set()
    values = pa.array(sorted(candidates), pa.string())
    return set(values.filter(pc.is_in(values, value_set=record_ids)).to_pylist())


def _cannot_link(rejected: list[tuple[str, str]], current: set[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for left, right in rejected:
        if left in current and right in current:
            out.setdefault(left, set()).add(right)
            out.setdefault(right, set()).add(left)
    return out


# ---------------------------------------------------------------------- outcome


def _basis(assignment: Assignment, grouping: Grouping, known: dict[str, Member]) -> dict[str, str]:
    """How each record joined its person: the strongest link it took part in, else what was stored."""
    sizes = Counter(assignment.person_of.values())
    basis: dict[str, str] = {}
    for pid, person in assignment.person_of.items():
        if sizes[person] == 1:
            basis[pid] = BASIS_SINGLE
        elif pid in grouping.basis_of:
            basis[pid] = grouping.basis_of[pid]
        elif pid in known and known[pid].basis != BASIS_SINGLE and known[pid].person_id == person:
            basis[pid] = known[pid].basis
        else:
            basis[pid] = BASIS_TRANSITIVE
    return basis


def _review_candidates(
    pairs: pd.DataFrame, scores: PairScores, grouping: Grouping, person_of: dict[str, str]
) -> list[dict]:
    """Pairs for a clerk: the model was unsure, a rule forbade the merge, or a link was refused."""
    if pairs.empty:
        return []
    refused = {(link.left, link.right) for link in grouping.refused if link.strength >= Strength.IDENTIFIER}
    left_ids, right_ids = pairs["record_id_l"].astype(str).tolist(), pairs["record_id_r"].astype(str).tolist()
    is_refused = [(a, b) in refused for a, b in zip(left_ids, right_ids, strict=True)]
    apart = pd.Series(
        [person_of.get(a) != person_of.get(b) for a, b in zip(left_ids, right_ids, strict=True)],
        index=pairs.index,
    )
    wanted = pairs[
        ((pairs["decision"] == Decision.REVIEW) | pd.Series(is_refused, index=pairs.index)) & apart
    ]
    refused_rows = set(pairs.index[is_refused])
    evidence = (
        [[dict(vars(e)) for e in items] for items in scores.evidence_of(wanted)]
        if scores.labels and len(wanted)
        else [[] for _ in range(len(wanted))]
    )
    return [
        {
            "patient_l": str(left),
            "patient_r": str(right),
            "match_probability": float(probability),
            "reason": str(Reason.CLUSTER_CONFLICT) if index in refused_rows else str(reason),
            "evidence": items,
        }
        for index, left, right, probability, reason, items in zip(
            wanted.index,
            wanted["record_id_l"],
            wanted["record_id_r"],
            wanted["match_probability"],
            wanted["reason"],
            evidence,
            strict=True,
        )
    ]
