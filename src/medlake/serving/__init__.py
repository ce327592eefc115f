"""The FHIR serving index: the integrated layer indexed for FHIR REST read and search.

>>> index = ServingIndex(ws)               # SQLite in the workspace, or serving_index_url
>>> index.refresh()                         # incremental; refresh(full=True) rebuilds
>>> index.read("Patient", "hosp-a.123", scope)
>>> index.search(parse_search("Observation", [("patient", "hosp-a.123")]), scope)

The search parameters are the FHIR R4 specification's (``definitions``), evaluated with
FHIRPath (``evaluate``) into one table per search type (``schema``); every read and search
applies the caller's :class:`medlake.access.policy.AccessScope` in its SQL (``search``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from sqlalchemy.engine import Engine, make_url

from medlake.serving.definitions import SearchParameter, search_parameters, served_types
from medlake.serving.query import SearchError, SearchQuery, UnknownResourceType, check_type, parse_search
from medlake.serving.refresh import RefreshReport, refresh_index
from medlake.serving.schema import ServingIndexError, index_url, open_index
from medlake.serving.search import Found, Scope, SearchPage, read, search
from medlake.workspace import Workspace

__all__ = [
    "Found",
    "RefreshReport",
    "Scope",
    "SearchError",
    "SearchPage",
    "SearchParameter",
    "SearchQuery",
    "ServingIndex",
    "ServingIndexError",
    "UnknownResourceType",
    "check_type",
    "parse_search",
    "search_parameters",
    "served_types",
]


class ServingIndex:
    """The serving index of one workspace (``serving_index_url``, default ``<home>/serving.db``)."""

    def __init__(self, workspace: Workspace, url: str | None = None) -> None:
        self.workspace = workspace
        self.url = url or index_url(workspace.home, workspace.settings.serving_index_url)

    @cached_property
    def engine(self) -> Engine:
        return open_index(self.url)

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def refresh(self, *, full: bool = False, progress: Callable[[int], None] | None = None) -> RefreshReport:
        """Index what changed in the integrated layer and person_link since the last refresh."""
        return refresh_index(self.workspace, self.engine, full=full, progress=progress)

    def read(self, resource_type: str, resource_id: str, scope: Scope) -> Found | None:
        return read(self.engine, check_type(resource_type), resource_id, scope)

    def search(
        self,
        query: SearchQuery,
        scope: Scope,
        offset: int = 0,
        include_scope: Callable[[str], Scope | None] | None = None,
    ) -> SearchPage:
        return search(self.engine, query, scope, offset, include_scope)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
