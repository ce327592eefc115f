"""Database URLs without their secrets: what may be shown, logged and stored.

A URL's password, and secrets some drivers take as query parameters (``password=``,
SQL Server's ``odbc_connect=...;PWD=...``), must never reach a log line, the catalog or
an error message. :func:`display_url` is the only form of a URL this package shows or
stores (driver, user, host, port, database), and :func:`scrub` cleans any text that
might quote the secret back, such as a driver's error message.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from medlake.errors import InputError
from medlake.secrets import redact

_SECRET_QUERY_KEYS = re.compile(r"pass|pwd|secret|token|odbc_connect|key", re.I)
_DRIVERS = {
    "postgresql": "psycopg[binary] (postgresql+psycopg://)",
    "mysql": "pymysql (mysql+pymysql://)",
    "mariadb": "pymysql (mariadb+pymysql://)",
    "mssql": "pyodbc (mssql+pyodbc://) or pymssql",
    "oracle": "oracledb (oracle+oracledb://)",
}


class DatabaseUrlError(InputError):
    """A URL SQLAlchemy cannot use (syntax, unknown dialect, driver not installed)."""


def parse(url: str) -> URL:
    """The URL parsed; a clear error, quoting it redacted, if it cannot be.

    A second ``@`` (a password's ``@`` not written ``%40``) is refused: SQLAlchemy would take
    the password's tail for the host and show it in every message that names the host.
    """
    authority = url.partition("://")[2].partition("?")[0]
    if authority.count("@") > 1:
        raise DatabaseUrlError(
            f"not a database URL: {redact(url)!r} has more than one '@'; a password's '@' must be "
            "written %40 — better, write the password as ${VAR}"
        )
    try:
        return make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(
            f"not a database URL: {redact(url)!r} (e.g. postgresql+psycopg://user@host/db)"
        ) from None


def display_url(url: str) -> str:
    """driver://user@host:port/database: no password, no query parameters."""
    parsed = parse(url)
    user = f"{parsed.username}@" if parsed.username else ""
    port = f":{parsed.port}" if parsed.port else ""
    database = f"/{parsed.database}" if parsed.database else ""
    return f"{parsed.drivername}://{user}{parsed.host or ''}{port}{database}"


def secrets_of(url: str) -> list[str]:
    """The secret strings a URL carries (its password, secret-looking query values)."""
    parsed = parse(url)
    found = [parsed.password] if parsed.password else []
    for key, value in parsed.query.items():
        if _SECRET_QUERY_KEYS.search(key):
            found.extend([value] if isinstance(value, str) else list(value))
    return [s for s in found if s]


def scrub(text: str, url: str) -> str:
    """``text`` with URL passwords and every secret of ``url`` replaced by ``***``."""
    cleaned = redact(text)
    for secret in sorted(secrets_of(url), key=len, reverse=True):
        cleaned = cleaned.replace(secret, "***")
    return cleaned


def open_engine(url: str) -> Engine:
    """An engine that keeps no idle connections: an import holds exactly one while it runs."""
    parsed = parse(url)
    try:
        return create_engine(parsed, poolclass=NullPool)
    except NoSuchModuleError:
        raise DatabaseUrlError(
            f"{display_url(url)}: SQLAlchemy has no dialect {parsed.drivername!r}"
        ) from None
    except ImportError as exc:
        backend = parsed.get_backend_name()
        hint = _DRIVERS.get(backend, "the database's Python driver")
        raise DatabaseUrlError(
            f"{display_url(url)}: the driver is not installed ({scrub(str(exc), url)}); install {hint}"
        ) from None
