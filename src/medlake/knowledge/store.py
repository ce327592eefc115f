"""The article store: ``medlake info load`` puts articles in the lake and the index in step.

Loading merges by id into ``marts.info_article``: a new id is added, an id whose content hash
changed is replaced, an unchanged one is left alone, and articles of other files stay. Nothing
changed, nothing written: loading the same file again is a no-op. Rejected lines go to
``marts.info_article_rejected`` with their reason, replacing that file's earlier rejects (so a
re-load does not repeat them). The lake commit comes first; the index then follows it
(:meth:`ArticleSearch.sync`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from medlake.knowledge import tables
from medlake.knowledge.articles import ARTICLE_SCHEMA, read_articles
from medlake.knowledge.search import ArticleSearch
from medlake.workspace import Workspace


@dataclass(frozen=True)
class LoadReport:
    file: str
    received: int
    loaded: int
    added: int
    replaced: int
    unchanged: int
    rejected: int
    duplicates: int
    articles: int
    version: int | None
    indexed: int

    def as_dict(self) -> dict:
        return asdict(self)


def load_articles(workspace: Workspace, path: Path | str, search: ArticleSearch | None = None) -> LoadReport:
    read = read_articles(path)
    if read.received != len(read.articles) + len(read.rejected) + read.duplicates:
        raise AssertionError("article counts do not reconcile")  # a bug, never bad input
    with workspace.catalog.job("info load", {"file": str(read.path)}) as job:
        job_id = job.id
        existing = tables.read(workspace, tables.ARTICLE_TABLE)
        known = dict(
            zip(
                existing.column("id").to_pylist() if existing is not None else [],
                existing.column("content_hash").to_pylist() if existing is not None else [],
                strict=True,
            )
        )
        changed = {i: row for i, row in read.articles.items() if known.get(i) != row["content_hash"]}
        version = tables.version(workspace, tables.ARTICLE_TABLE)
        if changed:
            merged = _merged(existing, changed)
            inputs = _inputs(workspace, read)
            version = tables.replace(workspace, tables.ARTICLE_TABLE, merged, inputs, job_id)
        _store_rejects(workspace, read, job_id)
        search = search or ArticleSearch(workspace)
        synced = search.sync()
        added = sum(1 for i in changed if i not in known)
        report = LoadReport(
            str(read.path),
            read.received,
            len(read.articles),
            added,
            len(changed) - added,
            len(read.articles) - len(changed),
            len(read.rejected),
            read.duplicates,
            synced.indexed,
            version,
            synced.indexed,
        )
        job.summary.update(report.as_dict())
    return report


def _merged(existing: pa.Table | None, changed: dict[str, dict]) -> pa.Table:
    """The stored articles with ``changed`` added or put in place of their earlier versions."""
    new = pa.Table.from_pylist(list(changed.values()), schema=ARTICLE_SCHEMA)
    if existing is None:
        return new
    kept = existing.filter(pc.invert(pc.is_in(existing.column("id"), pa.array(list(changed)))))
    return pa.concat_tables([kept.select(ARTICLE_SCHEMA.names).cast(ARTICLE_SCHEMA), new])


def _inputs(workspace: Workspace, read) -> list[tables.Input]:
    """This file, and the files loaded before it whose articles the table still holds."""
    this = f"{read.path} sha256:{read.file_hash}"
    earlier = [
        (i.input_kind, i.input_name, i.input_version)
        for i in workspace.catalog.lineage(tables.name(tables.ARTICLE_TABLE))
        if i.input_kind == "file" and not i.input_name.startswith(f"{read.path} ")
    ]
    return [*earlier, ("file", this, None)]


def _store_rejects(workspace: Workspace, read, job_id: str) -> None:
    rejects = read.rejects()
    exists = tables.version(workspace, tables.REJECT_TABLE) is not None
    if not exists and rejects.num_rows == 0:
        return
    predicate = f"file_hash = '{read.file_hash}'" if exists else None  # a hex digest: safe to inline
    tables.replace(
        workspace,
        tables.REJECT_TABLE,
        rejects,
        [("file", f"{read.path} sha256:{read.file_hash}", None)],
        job_id,
        predicate=predicate,
    )
