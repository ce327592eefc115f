"""The queries a group's commit asks from keys alone: which rows repeat content the institution sent
before, what each batch stored, which references nothing resolves."""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
from deltalake import DeltaTable

from medlake.engine import Engine
from medlake.ingest.examine import CHUNK, ROW
from medlake.lake.scan import scanned
from medlake.workspace import Workspace

SEQ = "_seq"  # a column the accepted rows get when the group commits: delivery order within the group


def repeated_rows(
    engine: Engine, raw: DeltaTable | None, institution: str, keys: pa.Table, job_rows: pa.Table | None
) -> pa.Table:
    """(chunk, row, batch id) of the accepted rows whose content the institution sent before.

    That is content already in the institution's rows of ``raw`` (the raw layer before this
    commit; None when the job remembers all of them), in ``job_rows`` (what the job committed
    for it), or a copy earlier in the group (first delivery, first line wins; the place in the
    delivery breaks ties, such as one line number twice in a delivery). Only keys are read,
    never the rows' text.
    """
    with ExitStack() as scope:
        scope.enter_context(engine.registered("group_keys", keys))
        known = "FALSE"
        with ExitStack() as inputs:
            sources = []
            if raw is not None:
                # Only resources with an id in this group can repeat earlier content: the engine reads
                # the hashes of just those, from the institution's files alone.
                inputs.enter_context(scanned(engine, "lake_rows", raw.table_uri, raw))
                owner = engine.dialect.string_literal(institution)
                sources.append(f"SELECT resource_id, content_hash FROM lake_rows WHERE institution = {owner}")
            if job_rows is not None:
                inputs.enter_context(engine.registered("job_rows", job_rows))
                sources.append("SELECT resource_id, content_hash FROM job_rows")
            if sources:
                existing = (
                    f"SELECT content_hash FROM ({' UNION ALL '.join(sources)}) "
                    "WHERE resource_id IN (SELECT resource_id FROM group_keys)"
                )
                scope.enter_context(engine.temporary("existing", existing))
                known = "content_hash IN (SELECT content_hash FROM existing)"
        # the engine serves the whole job: every name above is gone when this returns
        later_copy = f"row_number() OVER (PARTITION BY content_hash ORDER BY {SEQ}, line, {CHUNK}, {ROW}) > 1"
        repeated = engine.dialect.qualify([CHUNK, ROW, "batch_id"], "group_keys", f"{known} OR {later_copy}")
        return engine.sql(f"{repeated} ORDER BY {CHUNK}, {ROW}")


def unrepeated(keys: pa.Table, repeated: pa.Table) -> pa.Table:
    """The group's keys without the ``repeated`` rows: those of the rows it commits."""
    if not repeated.num_rows:
        return keys
    place = pc.add(pc.multiply(keys.column(CHUNK), 1 << 32), keys.column(ROW))
    dropped = pc.add(pc.multiply(repeated.column(CHUNK), 1 << 32), repeated.column(ROW))
    return keys.filter(pc.invert(pc.is_in(place, value_set=pa.chunked_array(dropped).combine_chunks())))


def conditional_refs(made: pa.Table) -> pa.Array:
    """Which references made are conditional (``Type?identifier``): only the lake has identifiers."""
    return pc.greater(pc.find_substring(made.column("ref"), "?"), -1)


def rows_by_chunk(rows: pa.Table) -> dict[int, pa.Array]:
    """Chunk → its row numbers among ``rows`` (which are in chunk order)."""
    chunks = rows.column(CHUNK).to_numpy()
    numbers = rows.column(ROW).combine_chunks()
    found: dict[int, pa.Array] = {}
    start = 0
    for end in [*(i + 1 for i in range(len(chunks) - 1) if chunks[i] != chunks[i + 1]), len(chunks)]:
        if end > start:
            found[int(chunks[start])] = numbers.slice(start, end - start)
        start = end
    return found


def count_values(values: pa.ChunkedArray) -> dict[str, int]:
    return {entry["values"]: entry["counts"] for entry in pc.value_counts(values).to_pylist()}


def stored_counts(workspace: Workspace, raw_uri: str, batch_ids: list[str]) -> Counter[str]:
    dataset = workspace.lake.dataset(raw_uri)
    if dataset is None:
        return Counter()
    table = dataset.to_table(columns=["batch_id"], filter=pads.field("batch_id").isin(batch_ids))
    return Counter(table.column("batch_id").to_pylist())


def unresolved_references(
    engine: Engine,
    raw: DeltaTable | None,
    institution: str,
    made: pa.Table,
    job_rows: pa.Table | None = None,
) -> dict[str, list[str]]:
    """Per batch: references its resources make (``made``: batch id, reference key) that nothing
    the institution sent resolves.

    What it sent is its rows in ``raw`` (None when the job remembers all of them: then
    ``made`` has no conditional reference) and in ``job_rows`` (type, id and content hash of
    the rows the job committed for it). Bulk data arrives in any order, so these are
    reported, never rejected; a later batch may bring the targets. Literal references are
    checked against type/id, conditional ones (``Type?identifier=system|value``) against the
    identifiers received.
    """
    if not made.num_rows:
        return {}
    is_conditional = conditional_refs(made)
    literal, conditional = made.filter(pc.invert(is_conditional)), made.filter(is_conditional)
    sent = []  # relations of (resource_type, resource_id) the institution sent
    with ExitStack() as scope:
        if raw is not None:
            scope.enter_context(scanned(engine, "lake_rows", raw.table_uri, raw))
            institution_rows = (
                f"(SELECT * FROM lake_rows WHERE institution = {engine.dialect.string_literal(institution)})"
            )
            sent.append(f"SELECT resource_type, resource_id FROM {institution_rows}")
        if job_rows is not None:
            scope.enter_context(engine.registered("job_rows", job_rows))
            sent.append("SELECT resource_type, resource_id FROM job_rows")
        rows = literal.to_pylist()
        if sent:
            with engine.registered("made", literal):
                rows = engine.sql(
                    f"""
                    SELECT batch_id, ref FROM made
                    {engine.dialect.anti_join()} ({" UNION ALL ".join(sent)}) known
                    ON made.ref = known.resource_type || '/' || known.resource_id
                    """
                ).to_pylist()
        if conditional.num_rows and raw is None:
            rows += conditional.to_pylist()
        elif conditional.num_rows:  # only then are identifiers unnested (bulk exports have none)
            with engine.registered("made_conditional", conditional):
                rows += engine.sql(
                    f"""
                    SELECT batch_id, ref FROM made_conditional {engine.dialect.anti_join()}
                    (SELECT {engine.dialect.unnest("identifiers")} AS key FROM {institution_rows}) known
                    ON ref = known.key
                    """
                ).to_pylist()
    missing: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda row: (row["batch_id"], row["ref"])):
        missing.setdefault(row["batch_id"], []).append(row["ref"])
    return missing
