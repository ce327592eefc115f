"""Connection secrets: read from the environment or a secrets file, never stored in the catalog.

A source's location names secrets as ``${NAME}``. At run time ``NAME`` is looked up in
the environment, then in the workspace's secrets file (``<home>/secrets.toml``, or the
file ``MEDLAKE_SECRETS_FILE`` names), a flat TOML table of ``NAME = "value"``.
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
    return Path(os.environ.get("MEDLAKE_SECRETS_FILE", home / "secrets.toml"))


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
