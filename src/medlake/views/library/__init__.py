"""medlake's view library: one SQL-on-FHIR ViewDefinition per warehouse table.

The views are JSON files beside this module, so they can be read, reviewed and changed as
data (a new column is a JSON edit, not a code change). Each file is named after the table it
defines, which is also its ``name``; every view carries the resource key (``id``, or
``observation_id`` for components) and the patient's key (``patient_id``) so tables join.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from medlake.views.errors import ViewDefinitionError


def load_library() -> dict[str, dict[str, Any]]:
    """Every library view, by table name, in name order."""
    views: dict[str, dict[str, Any]] = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        table = entry.name[: -len(".json")]
        try:
            view = json.loads(entry.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ViewDefinitionError(f"library view {entry.name} is not valid JSON: {exc}") from exc
        if not isinstance(view, dict) or view.get("name") != table:
            raise ViewDefinitionError(f"library view {entry.name} must be a ViewDefinition named {table!r}")
        views[table] = view
    return views


def library_view(table: str) -> dict[str, Any]:
    """One library view by table name."""
    views = load_library()
    if table not in views:
        raise KeyError(f"no library view {table!r}; available: {', '.join(views)}")
    return views[table]


__all__ = ["library_view", "load_library"]
