"""The authenticated caller: who, in which roles, bound to which institution or person.

A :class:`Principal` is what a verified token (or a trusted local command) turns into; the
policy decides from it alone, so it carries everything a decision needs and nothing secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """The five roles of the issue (``resident`` is the issue's *patient*) plus the system client."""

    RESIDENT = "resident"  # a patient: own record only (principal.patient)
    CLINICIAN = "clinician"  # patients of their institution (tenant) + consented shares
    INSTITUTION = "institution"  # a system of one institution (backend client): its own data
    ANALYST = "analyst"  # de-identified/bulk, no direct identifiers (part 7 refines)
    STEWARD = "steward"  # data steward: quarantine, quality, audit reading
    ADMIN = "admin"  # users, clients, settings; NOT clinical data by default


@dataclass(frozen=True)
class Principal:
    """One caller. ``scopes`` are SMART v2 scopes; they can only narrow what the roles allow."""

    subject: str  # user name or client id
    roles: frozenset[Role]
    tenant: str | None = None  # institution id (clinician, institution)
    patient: str | None = None  # global person id (resident)
    scopes: frozenset[str] = frozenset()  # SMART v2, e.g. "patient/Observation.rs"
