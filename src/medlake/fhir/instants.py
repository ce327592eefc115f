"""R4 instants as Python datetimes: ``meta.lastUpdated`` read once, the way the model classes read it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

#: R4 allows a leap second (``23:59:60``); Python's datetime does not hold one.
_LEAP_SECOND = re.compile(r"(T\d{2}:\d{2}):60")


@lru_cache(maxsize=1 << 14)  # an export often stamps many resources with one lastUpdated
def utc_instant(value: str) -> datetime:
    """An instant whose R4 pattern was already checked, as an aware UTC datetime.

    A leap second becomes ``:59``, as fhirclient's ``FHIRInstant`` reads it; a value without
    an offset is taken as UTC.
    """
    # the regex only when needed: a substitution costs ten times the parse (Python 3.11 reads "Z")
    if ":60" in value:
        value = _LEAP_SECOND.sub(r"\1:59", value)
    parsed = datetime.fromisoformat(value)
    zone = parsed.tzinfo
    if zone is UTC:
        return parsed
    return parsed.astimezone(UTC) if zone else parsed.replace(tzinfo=UTC)


def ranked_instants(
    versions: list[tuple[datetime | None, datetime, int]], tolerance: timedelta
) -> list[datetime | None]:
    """The instant each version of one resource ranks at, given (``meta.lastUpdated``, arrival,
    line) for each, in any order.

    Its ``meta.lastUpdated``, unless that lies more than ``tolerance`` after it arrived (a sender's
    clock set wrong: a version stamped 2099 would otherwise stay current until 2099). Such a
    version ranks at the newest trusted ``meta.lastUpdated`` among the versions received before
    it (None if none): newer than what came before it, older than a later version dated after
    that. ``build.integrated.current_keys`` ranks by the same rule, in SQL.
    """
    trusted = [
        (received, line, updated)
        for updated, received, line in versions
        if updated is not None and updated <= received + tolerance
    ]
    ranked: list[datetime | None] = []
    for updated, received, line in versions:
        if updated is None or updated <= received + tolerance:
            ranked.append(updated)
            continue
        earlier = [u for r, n, u in trusted if (r, n) < (received, line)]
        ranked.append(max(earlier, default=None))
    return ranked
