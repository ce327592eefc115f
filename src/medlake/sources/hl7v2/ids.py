"""Resource ids derived from the message's own identifiers.

The same message received twice must become byte-identical resources (so the raw layer
stores nothing new), and a later message about the same patient, visit or result must
address the same resource (so it becomes a newer version). Ids are therefore hashes of
what identifies the thing in v2, never of arrival time:

* Patient — the assigning authority and value of the patient's identifier (see
  :func:`medlake.sources.hl7v2.patient.patient_identifier` for which one);
* Encounter — PV1-19 visit number (authority + value); without one, the patient and
  PV1-44 admit time; without that, the message itself;
* DiagnosticReport — OBR-3 filler order number, else OBR-2 placer order number (entity id
  + namespace/universal id), else the message and the OBR's position;
* Observation — within an identified order: the order, OBX-3 code, OBX-4 sub-id and
  how many earlier OBX of the order had the same code and sub-id (a corrected result for
  the same order therefore replaces the preliminary one); otherwise the message and the
  OBX's position;
* Binary — the SHA-256 of the message text itself.

"The message" is MSH-3 sending application, MSH-4 sending facility and MSH-10 control id,
which the sender keeps unique and unchanged when it resends. Ids are 32 hex characters
(128 bits of SHA-256), scoped to the institution like every resource in the lake.
"""

from __future__ import annotations

import hashlib


def stable_id(kind: str, *parts: str) -> str:
    """A deterministic FHIR id for ``kind`` identified by ``parts``."""
    text = "\x1f".join((kind, *parts))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def content_id(text: bytes) -> str:
    """The full SHA-256 of ``text``: a content address that anyone can recompute."""
    return hashlib.sha256(text).hexdigest()
