"""Connection secrets: read from the environment or a secrets file, never stored in the catalog.

A source's location names secrets as ``${NAME}``. At run time ``NAME`` is looked up in
the environment, then in the workspace's secrets file (the ``secrets_file`` setting:
``MEDLAKE_SECRETS_FILE`` or medlake.toml, default ``<home>/secrets.toml``), a flat TOML table
of ``NAME = "value"``.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from medlake.errors import InputError

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_URL_PASSWORD = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]*)@", re.I
)


class MissingSecret(InputError, KeyError):
    """A placeholder names a secret that is neither in the environment nor in the secrets file."""


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


def contains_literal_secret(location: str) -> bool:
    """True when a URL carries a password that is not a ``${NAME}`` placeholder."""
    match = _URL_PASSWORD.search(location)
    return bool(match and match["password"] and not PLACEHOLDER.fullmatch(match["password"]))


def redact(text: str) -> str:
    """``text`` with passwords in URLs replaced by ``***``, for logs and error messages."""
    return _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


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
