"""What an incremental build must redo: read from the tables' own commits, and the catalog.

Every table a build writes carries, in its Delta commit, the version of its input it shows
(``medlake.raw_version`` on an integrated table, ``medlake.source_version`` on a view), and
a merge names the institutions it changed (``medlake.institutions``). The lake is the truth:
a build killed after a commit finds that commit on its re-run and does not redo it. The
catalog may know more: when a build checked a table and found nothing to change, it wrote
nothing to the lake (no new version) but advanced the input version in the table's lineage,
so the next build need not check again; that is trusted only while the catalog's version of
the table is the lake's.
"""

from __future__ import annotations

import hashlib
import json

from medlake.catalog import Catalog
from medlake.lake import Lake

#: Commit metadata: the raw layer's version an integrated table shows.
RAW_VERSION = "medlake.raw_version"
#: Commit metadata: the integrated table's version a view shows.
SOURCE_VERSION = "medlake.source_version"
#: Commit metadata: the institutions a merge or partial rewrite changed (a JSON list).
INSTITUTIONS = "medlake.institutions"
#: Commit metadata: the hash of the view definition a warehouse table was computed with.
VIEW_HASH = "medlake.view_hash"

#: Commits that move no row (``medlake maintain``'s compaction and vacuum).
_NO_DATA_CHANGE = {"OPTIMIZE", "VACUUM START", "VACUUM END"}


def view_hash(view: dict) -> str:
    """A view definition's fingerprint: a changed definition means a full rebuild of its table."""
    text = json.dumps(view, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def reflected_version(
    lake: Lake, catalog: Catalog, uri: str, name: str, key: str, input_name: str
) -> int | None:
    """The version of ``input_name`` that table ``name`` (at ``uri``) shows, or None if unknown.

    From the newest commit carrying ``key``; the catalog's lineage may say a later one (a
    build found nothing to change), trusted only if the catalog's version is the lake's.
    """
    table = lake.table(uri)
    if table is None:
        return None
    committed = lake.commit_value(uri, key)
    shown = int(committed[1]) if committed is not None else None
    recorded = catalog.dataset(name)
    if recorded is not None and recorded.version == table.version():
        for item in catalog.lineage(name):
            if (
                item.input_kind == "dataset"
                and item.input_name == input_name
                and item.input_version is not None
            ):
                shown = item.input_version if shown is None else max(shown, item.input_version)
    return shown


def changed_institutions(lake: Lake, uri: str, since: int) -> set[str] | None:
    """The institutions whose rows of ``uri`` changed after version ``since`` (None: all may have).

    Compactions and vacuums move no row; a commit that does not name its institutions (a
    full rewrite) may have changed any.
    """
    changed: set[str] = set()
    for commit in lake.commits_since(uri, since):
        if commit.get("operation") in _NO_DATA_CHANGE:
            continue
        named = commit.get(INSTITUTIONS)
        if named is None:
            return None
        changed.update(json.loads(named))
    return changed
