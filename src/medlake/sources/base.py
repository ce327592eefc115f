"""What every kind of source provides to ``medlake sync``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from medlake.ingest import BatchReport
from medlake.workspace import Workspace


@dataclass(frozen=True)
class SourceConfig:
    """A registered source as the runner sees it: secrets already resolved into ``location``."""

    id: str
    institution: str
    kind: str
    location: str
    mapping: str | None = None
    schedule: str | None = None
    options: dict = field(default_factory=dict)


class SourceKind(ABC):
    """One kind of source. ``sync`` reads what is new since the last run and ingests it.

    Incremental state (e.g. a check column's last value) lives in the catalog through
    ``workspace.catalog.get_state``/``set_state`` under the source's id. A state update
    must come after the data it covers is committed; if a crash falls in between, the
    re-run reads those items again and the pipeline's content de-duplication makes
    that harmless.
    """

    kind: ClassVar[str]
    description: ClassVar[str]
    #: True: the location is a local file or folder, which must exist when the source is added.
    #: False: it is a server's URL (a database, a broker), checked for its form only.
    location_is_path: ClassVar[bool] = True
    #: Whether ``--mapping`` is required (tabular kinds) or refused (the others).
    needs_mapping: ClassVar[bool] = False
    #: The ``--option KEY=VALUE`` keys the kind reads; any other key is refused when added.
    option_names: ClassVar[frozenset[str]] = frozenset()

    def check(self, source: SourceConfig) -> None:
        """Refuse now what ``sync`` would refuse later: options of the wrong form, a mapping that
        cannot be read. The common checks (location, mapping present, option names) are done
        before, by :func:`medlake.sources.registry.checked_source`; kinds extend this one."""
        return None  # a kind without options or mapping has nothing more to check

    @abstractmethod
    def sync(
        self, workspace: Workspace, source: SourceConfig, progress: Callable[[int], None] | None = None
    ) -> list[BatchReport]:
        """Run the source once; one report per delivery ingested."""
