"""medlake: a regional health data center on a lakehouse.

The public Python API is :func:`open_workspace` (and :func:`init_workspace`), whose
:class:`Workspace` ingests, builds, links and answers for one person (:mod:`medlake.api`);
every error meant for a user is a :class:`MedlakeError` (see :mod:`medlake.errors`). See
``docs/architecture.md``.
"""

import os
from importlib import import_module
from typing import TYPE_CHECKING, Any

# The storage layers are Rust crates that log to stderr from the moment deltalake is imported
# (a warning per failed credential lookup); medlake reports what went wrong itself, in one line.
os.environ.setdefault("RUST_LOG", "error")
# (it comes before any import of medlake's modules: deltalake reads RUST_LOG once, when imported)

from medlake.errors import (
    DecisionError,
    EngineError,
    InputError,
    InstitutionError,
    InvalidRecord,
    LakeError,
    MedlakeError,
    MissingInput,
    NotFound,
    NotReady,
    QueryError,
    SettingsError,
    SourceError,
    Unreachable,
    WorkspaceError,
)

if TYPE_CHECKING:
    from medlake.api import Workspace, init_workspace, open_workspace

#: The workspace API, imported when first asked for: ``import medlake`` (and so every
#: ``medlake`` command, ``--help`` included) does not load the catalog, the lake and their
#: engines until something uses them.
_LAZY_API = {
    "Workspace": "medlake.api",
    "init_workspace": "medlake.api",
    "open_workspace": "medlake.api",
}

#: Errors defined beside the code that raises them, exported here without importing that code
#: until one is asked for (``import medlake`` stays light).
_LAZY_ERRORS = {
    "MappingError": "medlake.sources.tabular.mapping",
    "MissingSecret": "medlake.secrets",
    "RecordError": "medlake.link.records",
    "StoreError": "medlake.person.store",
    "UnknownPersonError": "medlake.person.record",
    "ViewDefinitionError": "medlake.views.errors",
    "ViewError": "medlake.views.errors",
    "ViewEvaluationError": "medlake.views.errors",
}

__all__ = [
    "DecisionError",
    "EngineError",
    "InputError",
    "InstitutionError",
    "InvalidRecord",
    "LakeError",
    "MedlakeError",
    "MissingInput",
    "NotFound",
    "NotReady",
    "QueryError",
    "SettingsError",
    "SourceError",
    "Unreachable",
    "Workspace",
    "WorkspaceError",
    "init_workspace",
    "open_workspace",
    *_LAZY_ERRORS,
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _LAZY_ERRORS:
        return getattr(import_module(_LAZY_ERRORS[name]), name)
    if name in _LAZY_API:
        value = getattr(import_module(_LAZY_API[name]), name)
        globals()[name] = value  # once
        return value
    raise AttributeError(f"module 'medlake' has no attribute {name!r}")
