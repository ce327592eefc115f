"""Every lake table the knowledge package writes, and their catalog records, in one place.

The graph and the articles live in the ``marts`` layer: ``marts.kg_term``, ``marts.kg_edge``,
``marts.info_article`` and ``marts.info_article_rejected``. They are reference data, not any
institution's records, so they have no ``institution`` column. Each write is one Delta
transaction, recorded in the catalog the way ``medlake build`` records its tables
(``Catalog.record_built``), with lineage: the MediaWiki export, the ontology packages and the
articles' table version for the graph, the loaded file for the articles.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from medlake.catalog import BuiltTable
from medlake.lake import Layer
from medlake.workspace import Workspace

TERM_TABLE = "kg_term"
EDGE_TABLE = "kg_edge"
ARTICLE_TABLE = "info_article"
REJECT_TABLE = "info_article_rejected"

#: a lineage input: (kind, name, version); kinds used here: dataset, file, package
Input = tuple[str, str, int | None]


def name(table: str) -> str:
    return f"{Layer.MARTS.value}.{table}"


def read(workspace: Workspace, table: str) -> pa.Table | None:
    return workspace.lake.read(workspace.lake.uri(Layer.MARTS, table))


def job(workspace: Workspace, table: str) -> str | None:
    """The job that wrote the table's current version (``medlake.job`` in its commit)."""
    current = workspace.lake.table(workspace.lake.uri(Layer.MARTS, table))
    return None if current is None else current.history(1)[0].get("medlake.job")


def version(workspace: Workspace, table: str) -> int | None:
    current = workspace.lake.table(workspace.lake.uri(Layer.MARTS, table))
    return None if current is None else current.version()


def replace(
    workspace: Workspace,
    table: str,
    data: pa.Table,
    inputs: Sequence[Input],
    job_id: str,
    predicate: str | None = None,
) -> int:
    """Overwrite ``table`` (or only the rows ``predicate`` selects) in one commit and record it."""
    uri = workspace.lake.uri(Layer.MARTS, table)
    written = workspace.lake.write(
        uri, data, mode="overwrite", predicate=predicate, metadata={"medlake.job": job_id}
    )
    stats = workspace.lake.stats(uri)
    assert stats is not None
    built = BuiltTable(name(table), Layer.MARTS, uri, written, stats.rows, {}, data.schema, list(inputs))
    workspace.catalog.record_built(built, job_id)
    return written
