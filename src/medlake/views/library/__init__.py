"""medlake's view library: one SQL-on-FHIR ViewDefinition per warehouse table.

The views are JSON files beside this module, so they can be read, reviewed and changed as
data (a new column is a JSON edit, not a code change). Each file is named after the table it
defines, which is also its ``name``. Every view about a patient carries the resource key
(``id``; ``observation_id`` or ``diagnostic_report_id`` for the rows of a part) and the
patient's key (``patient_id``) so tables join; the directory views (organizations,
practitioners, their roles, locations) describe the region's providers and have no patient.

A workspace may add views of its own, or replace a library view (keeping its columns), from a
folder of such files (the ``views_dir`` setting): a site adds a table without editing the
installed package. Those files are checked when they are loaded, so a broken view fails the
build before any data is read, with the file named.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from medlake.views.compiler import compile_view
from medlake.views.errors import ViewDefinitionError

#: views with no ``patient_id``: the directory of providers, joined from clinical tables by reference
DIRECTORY_VIEWS = frozenset({"location", "organization", "practitioner", "practitioner_role"})

#: warehouse tables written by other parts of medlake (the master patient index, the golden
#: record): a view of a user's may not take their names, or a build would overwrite them
RESERVED_TABLES = frozenset({"person_golden", "person_link"})

#: a view's table name: it becomes ``warehouse.<name>`` in SQL and a folder in the lake
TABLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


def load_library(views_dir: Path | str | None = None) -> dict[str, dict[str, Any]]:
    """Every library view by table name, in name order; with ``views_dir``, its views added
    (a file named like a library view replaces it)."""
    views: dict[str, dict[str, Any]] = {}
    for entry in resources.files(__name__).iterdir():
        if entry.name.endswith(".json"):
            table = entry.name[: -len(".json")]
            views[table] = _parsed(f"library view {entry.name}", table, entry.read_text(encoding="utf-8"))
    if views_dir is not None:
        for table, view in load_views_dir(Path(views_dir)).items():
            if table in views:
                _keeps_the_columns(Path(views_dir) / f"{table}.json", views[table], view)
            views[table] = view
    return dict(sorted(views.items()))


def _keeps_the_columns(file: Path, library: dict[str, Any], replacement: dict[str, Any]) -> None:
    """A view replacing a library view keeps its columns (it may add some): the linker, the
    person record and analysts' queries read them by name."""
    missing = [
        c for c in compile_view(library).column_names if c not in compile_view(replacement).column_names
    ]
    if missing:
        raise ViewDefinitionError(
            f"view file {file} replaces the library view {library['name']!r} but lacks its columns "
            f"{', '.join(missing)}; a replacement keeps every column (it may add others)"
        )


def load_views_dir(folder: Path) -> dict[str, dict[str, Any]]:
    """The views in a user's folder (``*.json``), each checked as the library's are.

    A view must compile without warnings: FHIRPath over JSON reads a misspelt element as
    empty, so a typo would otherwise give a column of nulls instead of an error.
    """
    if not folder.is_dir():
        raise ViewDefinitionError(f"views_dir {folder} is not a folder")
    views: dict[str, dict[str, Any]] = {}
    for file in sorted(folder.glob("*.json")):
        table = file.stem
        if not TABLE_NAME.fullmatch(table):
            raise ViewDefinitionError(
                f"view file {file}: the file name is the table name: lower-case letters, digits and _, "
                f"starting with a letter (not {table!r})"
            )
        if table in RESERVED_TABLES:
            raise ViewDefinitionError(
                f"view file {file}: warehouse.{table} is written by medlake itself; name the view otherwise"
            )
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ViewDefinitionError(f"view file {file} cannot be read: {exc}") from exc
        view = _parsed(f"view file {file}", table, text)
        try:
            compiled = compile_view(view)
        except ViewDefinitionError as exc:
            raise ViewDefinitionError(f"view file {file}: {exc}") from exc
        if compiled.warnings:
            raise ViewDefinitionError(f"view file {file}: {compiled.warnings[0]}")
        views[table] = view
    return views


def _parsed(where: str, table: str, text: str) -> dict[str, Any]:
    try:
        view = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ViewDefinitionError(f"{where} is not valid JSON: {exc}") from exc
    if not isinstance(view, dict) or view.get("name") != table:
        raise ViewDefinitionError(f"{where} must be a ViewDefinition named {table!r}, like its file")
    return view


def library_view(table: str, views_dir: Path | str | None = None) -> dict[str, Any]:
    """One library view by table name."""
    views = load_library(views_dir)
    if table not in views:
        raise KeyError(f"no library view {table!r}; available: {', '.join(views)}")
    return views[table]


__all__ = ["DIRECTORY_VIEWS", "RESERVED_TABLES", "library_view", "load_library", "load_views_dir"]
