"""Keys sent twice in one JSON object: refused, since one of the two values would be lost unseen.

JSON parsers keep the last of two equal keys (orjson and msgspec both do), so
``{"id":"d3","id":"d3b"}`` would be stored as ``d3b`` with nothing said. Telling needs no second
parse on the common path: a parser's output has one colon per key it kept plus the colons inside
strings, which encoding gives back unchanged, while the text received has one colon per key it
sent. So the text has more colons than its re-encoding exactly when a key was dropped — unless
a string in it spells a colon as the escape ``\\u003a``, which re-encoding writes as ``:``; such
rare texts, and any whose counts differ, are parsed once more, keeping every pair, to find the
repeated keys and say where they are.
"""

from __future__ import annotations

import json
from typing import Any


def may_repeat_keys(text: bytes, encoded: bytes) -> bool:
    """Cheap: False only when ``text`` certainly has no key twice in one object. ``encoded`` is
    what ``text`` parsed into, encoded again (compact or not: only colons are counted)."""
    return b"\\u003" in text or text.count(b":") != encoded.count(b":")


class _Pairs(list):
    """An object's key/value pairs in the order sent, repeats kept."""


def repeated_keys(text: bytes) -> list[str]:
    """The path of every key sent again in the same object (``id``, ``name.0.given``)."""
    try:
        tree = json.loads(text, object_pairs_hook=_Pairs)
    except ValueError:
        return []  # not JSON: the parser that reads it says why
    found: list[str] = []
    _walk(tree, "", found)
    return found


def _walk(node: Any, path: str, found: list[str]) -> None:
    if isinstance(node, _Pairs):
        seen: set[str] = set()
        for key, value in node:
            if key in seen:
                found.append(f"{path}{key}")
            seen.add(key)
            _walk(value, f"{path}{key}.", found)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _walk(value, f"{path}{index}.", found)


def describe(paths: list[str]) -> str:
    """The quarantine reason for a text whose objects repeat the keys at ``paths``."""
    shown = ", ".join(repr(p) for p in paths[:5]) + (f" (+{len(paths) - 5} more)" if len(paths) > 5 else "")
    return (
        f"duplicate JSON key {shown}: a key may occur once per object, and a parser keeps only its last value"
    )
