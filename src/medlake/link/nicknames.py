"""Nickname equivalence for given names (Robert ~ Bob ~ Robby), from the ``nicknames`` package.

String distance cannot see that "Bill" and "William" are the same name, yet people are
registered under both. That knowledge comes from the maintained ``nicknames`` package (its
``names.csv``: rows ``name,has_nickname,nick``, read through ``NickNamer``), not from a table of
our own. A name maps to the set of canonical names it may stand for (a canonical maps to itself),
and two names are equivalent when those sets meet: "al" maps to {alan, albert, alexander, alfred,
...}, so "al" ~ "albert" and "al" ~ "alan" but "alan" !~ "albert".

The package's names are put through the same letters-only cleaning as standardised given names
("k.c." -> "kc"), since only then can they be looked up. ``ADDITIONS`` holds the few common
nicknames the package (1.0.1) lacks; each is a plain English short form, worth proposing upstream.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from functools import cache

from nicknames import NickNamer

#: Canonical name -> nicknames the ``nicknames`` package does not know yet (checked against 1.0.1).
#: Common short forms that the synthetic region (medlake.synth.names.NICKNAMES) registers people
#: under: without them Suzy/Susan, Izzy/Isabella and Kate/Catherine fall to "different given name",
#: which vetoes the link (decisions.py), and Barb, Kate, Katie, Nat score only as weak typos.
ADDITIONS: dict[str, tuple[str, ...]] = {
    "barbara": ("barb",),
    "susan": ("suzy",),
    "kathleen": ("kate",),
    "katherine": ("katie",),
    "catherine": ("kate",),
    "isabella": ("izzy",),
    "natalie": ("nat",),
}


def _clean(name: str) -> str:
    """Lower-case ASCII letters only, as standardise() leaves a given name."""
    folded = unicodedata.normalize("NFKD", name.lower().replace("ß", "ss"))
    return re.sub(r"[^a-z]", "", folded.encode("ascii", "ignore").decode("ascii"))


@cache
def canonical_names() -> dict[str, frozenset[str]]:
    """name or nickname -> the canonical names it can stand for (a canonical maps to itself)."""
    # canonical -> its nicknames; copied, so the package's own data is never changed
    lookup = {canonical: set(nicks) for canonical, nicks in NickNamer().nickname_lookup.items()}
    for canonical, extra in ADDITIONS.items():
        lookup.setdefault(canonical, set()).update(extra)
    groups: dict[str, set[str]] = defaultdict(set)
    for canonical, nicknames in lookup.items():
        canon = _clean(canonical)
        if not canon:
            continue
        groups[canon].add(canon)
        for nickname in nicknames:
            if nick := _clean(nickname):
                groups[nick].add(canon)
    if not groups:
        raise RuntimeError("the nicknames package returned no names; is its names.csv missing?")
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
