"""Institution ids: the tenant key of every table (its partition value) and of every integrated id.

An id is checked before anything is written, because it lands unquoted in partition paths and
file-pruning predicates and is the prefix of ``<institution>.<local id>``."""

from __future__ import annotations

import re

from medlake.errors import InstitutionError

INSTITUTION_PATTERN = r"^[a-z0-9][a-z0-9-]{0,23}$"


def check_institution(institution: str) -> None:
    if not re.match(INSTITUTION_PATTERN, institution):
        raise InstitutionError(
            f"institution ids are 1-24 of a-z, 0-9 and '-', starting alphanumeric: {institution!r}"
        )
