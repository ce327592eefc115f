"""Connection secrets: read from the environment or a secrets file, never stored in the catalog.

A source's location names secrets as ``${NAME}``. At run time ``NAME`` is looked up in
the environment, then in the workspace's secrets file (the ``secrets_file`` setting:
``MEDLAKE_SECRETS_FILE`` or medlake.toml, default ``<home>/secrets.toml``), a flat TOML table
of ``NAME = "value"``.

Redaction is deliberately greedy. A careless integrator writes ``u:p@ss@host`` (an ``@``
left unencoded in the password) or ``?password=…`` in a query string; a parser that stops
at the first ``@`` leaks ``ss``. So everything between ``scheme://`` and the *last* ``@``
of the URL is the user-info, and any ``password=``-like parameter (query string or libpq
``key=value`` form) loses its value: masking a little too much costs nothing, a leaked
password costs a rotation.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from medlake.errors import InputError

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: ``scheme://user:password@`` — the password runs to the last ``@`` before white space or a quote.
_URL_PASSWORD = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s'\"]*):(?P<password>[^\s'\"]*)@", re.I
)
#: Parameter names that carry a secret, in a query string (``?password=``) or a libpq DSN.
SECRET_KEYS = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "api_key",
    "apikey",
    "access_key",
    "secret_key",
    "sslpassword",
    "sslkey_password",
)
_SECRET_PARAMETER = re.compile(
    r"(?P<key>\b(?:" + "|".join(SECRET_KEYS) + r"))\s*=\s*(?P<value>[^&;\s'\"]*)",
    re.I,
)


class MissingSecret(InputError, KeyError):
    """A placeholder names a secret that is neither in the environment nor in the secrets file."""


class LiteralSecret(InputError):
    """A location or option that holds a password in clear, which would be stored in the catalog."""


def secrets_file(home: Path) -> Path:
    """The secrets file of the workspace at ``home``, as its settings name it."""
    from medlake.config import load_settings  # here: redact() and the CLI's help need no pydantic

    return load_settings(home).resolved_secrets_file


def resolve(text: str, home: Path) -> str:
    """``text`` with every ``${NAME}`` replaced by its secret."""
    file_values: dict[str, str] | None = None

    def lookup(match: re.Match[str]) -> str:
        nonlocal file_values
        name = match[1]
        if name in os.environ:
            return os.environ[name]
        if file_values is None:
            path = secrets_file(home)
            file_values = tomllib.loads(path.read_text()) if path.exists() else {}
        if name in file_values:
            return str(file_values[name])
        raise MissingSecret(
            f"secret ${{{name}}} is not set: export {name}=… or add it to {secrets_file(home)}"
        )

    return PLACEHOLDER.sub(lookup, text)


def _literal(value: str) -> bool:
    """A secret's value that is written out, not a ``${NAME}`` placeholder (nor empty)."""
    return bool(value) and not PLACEHOLDER.fullmatch(value)


def literal_secrets(text: str) -> list[str]:
    """Where ``text`` carries a secret in clear: ``'the URL's password'``, ``'password='``…; [] if nowhere."""
    found = []
    if any(_literal(m["password"]) for m in _URL_PASSWORD.finditer(text)):
        found.append("the URL's password (user:password@)")
    found += [f"{m['key']}=" for m in _SECRET_PARAMETER.finditer(text) if _literal(m["value"])]
    return found


def contains_literal_secret(location: str) -> bool:
    """True when a URL carries a password (user-info or a ``password=`` parameter) that is not
    a ``${NAME}`` placeholder."""
    return bool(literal_secrets(location))


def check_no_literal_secret(what: str, text: str) -> str:
    """``text`` if it holds no secret in clear; :class:`LiteralSecret` saying where and what to do.

    The message never repeats ``text``: it holds the password.
    """
    found = literal_secrets(text)
    if found:
        raise LiteralSecret(
            f"{what} holds a secret in clear ({', '.join(found)}), which would be stored in the "
            "catalog: write it as ${VAR} (e.g. postgresql+psycopg://reader:${HIS_PASSWORD}@host/db) "
            'and export VAR or put VAR = "…" in the workspace\'s secrets.toml'
        )
    return text


#: ``user:password@host`` without a (well-formed) scheme, e.g. a URL missing its ``//``.
_BARE_PASSWORD = re.compile(r"(?P<user>[^:/@\s'\"]*):(?P<password>[^\s'\"]*)@")
_TOKEN = re.compile(r"[^\s'\"]+")


def _redact_token(match: re.Match[str]) -> str:
    token = match[0]
    if "@" not in token:
        return token
    if "://" in token:
        return _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", token)
    return _BARE_PASSWORD.sub(lambda m: f"{m['user']}:***@", token)


def redact(text: str) -> str:
    """``text`` with passwords in URLs (with a scheme or without) and secret parameters replaced by
    ``***``, for logs and error messages."""
    text = _TOKEN.sub(_redact_token, text)
    return _SECRET_PARAMETER.sub(lambda m: f"{m['key']}=***", text)


#: Object-store options that name where, not who: shown as they are; any other option's value
#: (keys, tokens, SAS signatures, passwords under whatever name a store uses) is shown as ***.
_PUBLIC_STORAGE_OPTIONS = frozenset(
    {
        "region",
        "aws_region",
        "endpoint",
        "endpoint_url",
        "aws_endpoint",
        "aws_endpoint_url",
        "allow_http",
        "aws_allow_http",
        "aws_virtual_hosted_style_request",
        "virtual_hosted_style_request",
        "account_name",
        "azure_storage_account_name",
        "use_emulator",
        "timeout",
        "connect_timeout",
    }
)
#: A query parameter whose name says it carries a secret (``?password=…``, ``&sig=…``).
_SECRET_QUERY = re.compile(
    r"(?P<name>[?&;][^=&;#\s]*(?:pass|pwd|secret|token|key|sig|credential)[^=&;#\s]*=)[^&;#\s]*", re.I
)


def redact_setting(key: str, value: object) -> object:
    """A setting's value fit to show: passwords in URLs and secret-looking query parameters as
    ``***``, and every object-store option but the few that only say where the store is."""
    if key == "storage_options" and isinstance(value, dict):
        return {k: v if k.lower() in _PUBLIC_STORAGE_OPTIONS else "***" for k, v in value.items()}
    if isinstance(value, str):
        return _SECRET_QUERY.sub(lambda m: f"{m['name']}***", redact(value))
    return value
