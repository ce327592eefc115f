"""Opaque, tamper-proof paging links.

A ``next`` link carries the search as the client sent it, the offset of the next page, the
subject it was issued to and an expiry, signed with HMAC-SHA256 under a key kept in the
workspace (``<home>/serving_page.key``, created on first use, readable by the owner only).
The link grants nothing: the page it names is searched again under the *current* caller's
access scope, and a link issued to someone else, altered, or expired is refused (400).
Several server processes over one workspace share the key, so any of them can follow a link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from medlake.serving import SearchError

KEY_FILE = "serving_page.key"
LIFETIME_SECONDS = 3600


@dataclass(frozen=True)
class Page:
    resource_type: str
    params: list[tuple[str, str]]
    offset: int


def page_key(home: Path) -> bytes:
    """The workspace's paging key (32 random bytes), created atomically with mode 0600 if missing."""
    path = home / KEY_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(secrets.token_bytes(32))
        try:
            os.link(temporary, path)  # first writer wins; the others read its key
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_bytes()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_page(key: bytes, subject: str, page: Page, now: float | None = None) -> str:
    payload = {
        "t": page.resource_type,
        "q": page.params,
        "o": page.offset,
        "s": subject,
        "x": int((now or time.time()) + LIFETIME_SECONDS),
    }
    body = _b64(orjson.dumps(payload))
    return f"{body}.{_b64(hmac.new(key, body.encode(), hashlib.sha256).digest())}"


def open_page(key: bytes, subject: str, token: str, now: float | None = None) -> Page:
    """The page a link names, if it is this server's, unaltered, unexpired and issued to ``subject``."""
    body, _, signature = token.partition(".")
    try:
        expected = hmac.new(key, body.encode(), hashlib.sha256).digest()
        valid = hmac.compare_digest(expected, _unb64(signature))
        payload = orjson.loads(_unb64(body)) if valid else None
    except (ValueError, orjson.JSONDecodeError):
        payload = None
    if not isinstance(payload, dict):
        raise SearchError("the paging link is not valid: repeat the search")
    if payload.get("s") != subject:
        raise SearchError("the paging link was issued to someone else: repeat the search")
    if payload.get("x", 0) < (now or time.time()):
        raise SearchError("the paging link has expired: repeat the search")
    return Page(str(payload["t"]), [(str(n), str(v)) for n, v in payload["q"]], int(payload["o"]))
