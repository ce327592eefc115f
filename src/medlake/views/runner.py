"""Run a view over in-memory resources: the path the conformance suite and tests use.

The warehouse builder runs :meth:`CompiledView.sql` over lake tables directly; this helper
loads Python dicts into the engine as a one-column Arrow table first.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import orjson
import pyarrow as pa

from medlake.engine.base import Engine
from medlake.views.compiler import CompiledView, compile_view
from medlake.views.errors import ViewEvaluationError
from medlake.views.fhirpath_compiler import RUNTIME_ERROR_PREFIX

_names = itertools.count(1)


def resources_table(resources: Iterable[dict[str, Any]]) -> pa.Table:
    """One row per resource, its JSON text in column ``resource``."""
    texts = []
    for i, resource in enumerate(resources):
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise ValueError(f"resource #{i} is not a FHIR resource (a JSON object with a resourceType)")
        texts.append(orjson.dumps(resource).decode())
    return pa.table({"resource": pa.array(texts, type=pa.string())})


def run_view(
    engine: Engine,
    view: dict[str, Any] | CompiledView,
    resources: Iterable[dict[str, Any]],
) -> pa.Table:
    """Load ``resources`` into ``engine``, run ``view`` over them and return its rows.

    Raises ViewDefinitionError for an invalid view and ViewEvaluationError when the data
    breaks a rule of the view (e.g. several values in a column not marked collection).
    """
    compiled = view if isinstance(view, CompiledView) else compile_view(view, engine.dialect)
    name = f"__medlake_view_input_{next(_names)}"
    with engine.registered(name, resources_table(resources)):
        source = f"(SELECT CAST(resource AS JSON) AS resource FROM {engine.dialect.quote_identifier(name)})"
        try:
            return engine.sql(compiled.sql(source))
        except Exception as exc:
            raise as_view_error(exc) from exc


def as_view_error(exc: Exception) -> Exception:
    """A :class:`ViewEvaluationError` for an error the view's SQL raised on purpose, else ``exc``.

    The compiled SQL raises (with the engine's error function) messages that start with
    ``medlake view <name>:``; the engine wraps them in its own exception text.
    """
    text = str(exc)
    start = text.find(RUNTIME_ERROR_PREFIX + " ")
    if start < 0:
        return exc
    return ViewEvaluationError(text[start:].splitlines()[0].strip())
