"""The warehouse: one table per SQL-on-FHIR ViewDefinition of the view library.

Each view is compiled to one SQL query (``medlake.views``) and run by the engine over the
integrated table of its resource type; the ``institution`` column is carried onto every
row so tenants stay separable. ``build.run`` decides when each view runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pyarrow as pa

from medlake.build.rejects import BuildReject, without_failing_rows
from medlake.catalog import BuiltTable
from medlake.engine import Engine
from medlake.lake.scan import scanned
from medlake.lake.tables import Layer
from medlake.views import compile_view
from medlake.views.library import load_library
from medlake.workspace import Workspace

PASSTHROUGH = ("institution",)


def views_by_resource(views: Mapping[str, dict] | None = None) -> dict[str, list[tuple[str, dict]]]:
    """The view library (or ``views``) by the resource type each view reads, names in order."""
    grouped: dict[str, list[tuple[str, dict]]] = {}
    for name, view in sorted((views or load_library()).items()):
        grouped.setdefault(view["resource"], []).append((name, view))
    return grouped


def build_view(
    workspace: Workspace,
    engine: Engine,
    name: str,
    view: dict,
    job_id: str,
    rejected: Callable[[list[BuildReject]], None] | None = None,
) -> BuiltTable | None:
    """Run one view over its integrated table and replace its warehouse table (None: no source yet).

    Rows the view cannot convert are left out and handed to ``rejected`` (see ``build.rejects``).
    """
    lake = workspace.lake
    compiled = compile_view(view, engine.dialect)
    source_uri = lake.uri(Layer.INTEGRATED, compiled.resource)
    source = lake.table(source_uri)
    if source is None:
        return None
    source_version = source.version()
    # every row of an integrated table has the table's type: the view need not parse it to check
    resource_type = engine.dialect.string_literal(compiled.resource)
    relation = f"(SELECT institution, resource, {resource_type} AS type FROM integrated_source)"
    with scanned(engine, "integrated_source", source_uri, source):
        try:
            result = engine.sql(compiled.sql(relation, passthrough=PASSTHROUGH, type_column="type"))
        except engine.data_errors as exc:
            result, rejects = without_failing_rows(
                engine, view, compiled, "integrated_source", PASSTHROUGH, exc
            )
            if rejected is not None:
                rejected(rejects)
    uri = lake.uri(Layer.WAREHOUSE, name)
    version = lake.write(
        uri,
        result,
        mode="overwrite",
        partition_by=["institution"],
        metadata={"medlake.job": job_id, "medlake.view": name},
    )
    return BuiltTable(
        name=f"warehouse.{name}",
        layer=Layer.WAREHOUSE,
        uri=uri,
        version=version,
        rows=result.num_rows,
        rows_by_institution=_rows_by_institution(result),
        schema=result.schema,
        inputs=[("dataset", f"integrated.{compiled.resource}", source_version)],
    )


def _rows_by_institution(table: pa.Table) -> dict[str, int]:
    counts = table.group_by("institution").aggregate([("institution", "count")])
    pairs = zip(
        counts.column("institution").to_pylist(), counts.column("institution_count").to_pylist(), strict=True
    )
    return dict(sorted(pairs))
