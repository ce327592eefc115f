"""Reading person records from the serving store: one connection kept per store URL, reopened when a
rebuild swaps a new SQLite file in."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from medlake.person.queries import LINK_COLUMNS, OBSERVATION_COLUMNS, TIMELINE_COLUMNS
from medlake.person.record import PersonRecord, UnknownPersonError, assemble
from medlake.person.store.layout import SCHEMA, StoreError, safe_url, sqlite_path
from medlake.person.survivorship import golden_columns


class PersonStore:
    """Reads person records from a serving store; keeps one connection open (not thread-safe)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.backend = make_url(url).get_backend_name()
        if self.backend not in {"sqlite", "postgresql"}:
            raise StoreError(f"the person store supports sqlite and postgresql, not {safe_url(url)}")
        self.prefix = "" if self.backend == "sqlite" else f"{SCHEMA}."
        self.path = sqlite_path(url) if self.backend == "sqlite" else None
        self._inode: int | None = None
        self._engine: sa.Engine | None = None
        self._con: sa.Connection | None = None
        queries = {
            "golden": (golden_columns(), "person_golden"),
            "patients": (LINK_COLUMNS, "person_patient"),
            "timeline": (TIMELINE_COLUMNS, "person_timeline"),
            "observations": (OBSERVATION_COLUMNS, "person_observation"),
        }
        self._queries = {
            key: sa.text(f"SELECT {', '.join(columns)} FROM {self.prefix}{table} WHERE person_id = :p")
            for key, (columns, table) in queries.items()
        }

    def _connection(self) -> sa.Connection:
        if self.path is not None:
            try:
                inode = self.path.stat().st_ino
            except FileNotFoundError:
                raise StoreError(f"no person store at {self.path}: run `medlake person build`") from None
            if inode != self._inode:  # a rebuild swapped a new file in: reopen
                self.close()
                self._inode = inode
        if self._con is None:
            if self._engine is None:
                self._engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
            self._con = self._engine.connect()
        return self._con

    def exists(self) -> bool:
        try:
            self.meta()
        except (StoreError, sa.exc.DBAPIError):
            self.close()
            return False
        return True

    def meta(self) -> dict[str, str]:
        """The build's metadata: build_id, built_at, persons, format, versions of the tables read."""
        con = self._connection()
        try:
            rows = con.execute(sa.text(f"SELECT key, value FROM {self.prefix}person_store_meta")).all()
        except sa.exc.DBAPIError as exc:
            con.rollback()
            raise StoreError(f"no person store at {safe_url(self.url)}: run `medlake person build`") from exc
        finally:
            if con.in_transaction():
                con.rollback()
        return dict(rows)  # type: ignore[arg-type]

    def record(self, person_id: str) -> PersonRecord:
        con = self._connection()
        try:
            golden = con.execute(self._queries["golden"], {"p": person_id}).mappings().first()
            if golden is None:
                raise UnknownPersonError(person_id, f"the person store ({self.backend})")
            parts = {
                k: con.execute(self._queries[k], {"p": person_id}).all()
                for k in ("patients", "timeline", "observations")
            }
        finally:
            con.rollback()  # end the read transaction: a PostgreSQL swap must not wait on an idle reader
        return assemble(
            person_id,
            dict(golden),
            parts["patients"],
            parts["timeline"],
            parts["observations"],
            f"person store ({self.backend})",
        )

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


_OPEN: dict[str, PersonStore] = {}


def open_store(url: str) -> PersonStore:
    """The process's reader of ``url`` (opened once, then reused: connecting costs more than a lookup)."""
    store = _OPEN.get(url)
    if store is None:
        store = _OPEN[url] = PersonStore(url)
    return store


def forget_store(url: str) -> None:
    store = _OPEN.pop(url, None)
    if store is not None:
        store.close()
