"""Global person ids: short, opaque, and minted once.

An id is derived from the first patient record of the person (so that the same data gives the
same ids in a test or a rebuilt demo), then stored; from then on it is looked up, never
recomputed, which is what makes it stable when records arrive, change or leave. A salt counter
avoids reusing an id that already exists (a split-off record founding a new person).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Container

PREFIX = "P"
_LENGTH = 12


def mint_person_id(founding_record: str, taken: Container[str]) -> str:
    """A new global id for a person founded by ``founding_record``, not in ``taken``."""
    salt = 0
    while True:
        seed = founding_record if salt == 0 else f"{founding_record}#{salt}"
        digest = hashlib.sha256(seed.encode()).digest()
        candidate = PREFIX + base64.b32encode(digest[:10]).decode()[:_LENGTH]
        if candidate not in taken:
            return candidate
        salt += 1
