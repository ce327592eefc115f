"""Nickname equivalence for given names (William ~ Bill ~ Liam), from the shipped table.

String distance cannot see that "Bill" and "William" are the same name, yet people are
registered under both; the table in ``data/nicknames.csv`` encodes that knowledge. A name maps to
the set of canonical names it may stand for, and two names are equivalent when those sets meet:
"al" maps to {alan, albert, alexander, alfred}, so "al" ~ "albert" but "alan" !~ "albert".
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from importlib import resources


@cache
def canonical_names() -> dict[str, frozenset[str]]:
    """name or nickname -> the canonical names it can stand for (a canonical maps to itself)."""
    groups: dict[str, set[str]] = defaultdict(set)
    text = resources.files("medlake.link").joinpath("data/nicknames.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not lines or lines[0].strip() != "canonical,nicknames":
        raise ValueError("medlake/link/data/nicknames.csv must start with the header 'canonical,nicknames'")
    for number, line in enumerate(lines[1:], start=2):
        canonical, sep, nicknames = line.partition(",")
        canonical = canonical.strip()
        if not sep or not canonical:
            raise ValueError(f"nicknames.csv line {number}: expected 'canonical,nick nick ...', got {line!r}")
        groups[canonical].add(canonical)
        for nickname in nicknames.split():
            groups[nickname].add(canonical)
    return {name: frozenset(canon) for name, canon in groups.items()}


def nickname_group(name: str | None) -> list[str] | None:
    """The sorted canonical names ``name`` may stand for; None when the table does not know it.

    None (not an empty list) keeps the comparison level honest: an unknown name has no nickname
    evidence either way, so the pair falls through to the string-similarity levels.
    """
    if not name:
        return None
    group = canonical_names().get(name)
    return sorted(group) if group else None


def are_nicknames(first: str, second: str) -> bool:
    """True when the two (standardised) given names can denote the same canonical name."""
    a, b = canonical_names().get(first), canonical_names().get(second)
    return bool(a and b and a & b)
