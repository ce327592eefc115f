"""Residents' consent: their choices as data, the question the policy asks, and who cares for whom.

A choice is ``permit`` or ``deny`` of one purpose (``treatment`` outside the institution that
holds the record, ``research``, ``public-health`` beyond what law mandates), either for every
institution or for one. A new choice for the same purpose and institution supersedes the old
one, which is kept (the history a resident or an auditor may ask for).

The answer for a person, a purpose and an institution: the choice naming that institution wins
over a general one; with none, the region's default (``consent_default``: ``opt-out`` shares
for treatment unless refused, ``opt-in`` only when permitted). Research and public-health use
beyond the law are never presumed: they need a ``permit``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from medlake.access import audit
from medlake.access.errors import Forbidden, IdentityError
from medlake.access.principal import Principal, Role
from medlake.catalog.models import AccessConsent, MpiMember, MpiPerson
from medlake.catalog.store import utcnow

if TYPE_CHECKING:
    from medlake.workspace import Workspace

PURPOSES = ("treatment", "research", "public-health")
DECISIONS = ("permit", "deny")
_PURPOSE_CODES = {"treatment": "TREAT", "research": "HRESCH", "public-health": "PUBHLTH"}


@dataclass(frozen=True)
class Choice:
    id: str
    person: str
    decision: str
    purpose: str
    institution: str | None
    recorded_by: str
    recorded_at: str
    active: bool

    def as_fhir(self, regional_default: str = "opt-out") -> dict:
        """The choice as a FHIR R4 Consent (scope patient-privacy) under the region's default policy."""
        provision: dict = {
            "type": self.decision,
            "purpose": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                    "code": _PURPOSE_CODES[self.purpose],
                }
            ],
        }
        if self.institution:
            provision["actor"] = [
                {
                    "role": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "code": "IRCP",
                            }
                        ]
                    },
                    "reference": {"reference": f"Organization/{self.institution}"},
                }
            ]
        return {
            "resourceType": "Consent",
            "id": self.id,
            "status": "active" if self.active else "inactive",
            "scope": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                        "code": "patient-privacy",
                    }
                ]
            },
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": f"Person/{self.person}"},
            "dateTime": self.recorded_at,
            "performer": [{"display": self.recorded_by}],
            "policyRule": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "OPTOUT" if regional_default == "opt-out" else "OPTIN",
                    }
                ]
            },
            "provision": provision,
        }


def family(ws: Workspace, person: str) -> frozenset[str]:
    """Every global id of one person: the surviving id and each id merged into it, or merged along.

    The person index never deletes an id: a merged one points at its survivor. A resident bound
    to an id that was merged since, a consent recorded under the old id, a request naming either:
    all are the same person, so every rule is applied to the whole family.
    """
    with ws.catalog.session() as s:
        return family_in(s, person)


def family_in(s: Session, person: str) -> frozenset[str]:
    """:func:`family` inside an open catalog session (the policy asks several questions in one)."""
    seen = {person}
    current = person
    for _ in range(64):  # a chain longer than this would be a loop the index should not have
        row = s.get(MpiPerson, current)
        if row is None or row.merged_into is None or row.merged_into in seen:
            break
        current = row.merged_into
        seen.add(current)
    frontier = {current}
    while frontier:
        merged = set(s.scalars(select(MpiPerson.id).where(MpiPerson.merged_into.in_(frontier)))) - seen
        seen |= merged
        frontier = merged
    return frozenset(seen)


def cares_for(ws: Workspace, person: str | frozenset[str], institution: str) -> bool:
    """True when the institution holds a patient record of the person (its care relationship).

    The person index (``medlake link run``) maps every institution's patient record to its
    global person; a record there is the relationship the issue asks for, a first cut of
    "an encounter there in the last N years".
    """
    with ws.catalog.session() as s:
        ids = family_in(s, person) if isinstance(person, str) else person
        return cares_for_in(s, ids, institution)


def cares_for_in(s: Session, ids: frozenset[str], institution: str) -> bool:
    found = s.scalar(
        select(MpiMember.patient_id)
        .where(MpiMember.person_id.in_(ids), MpiMember.institution == institution)
        .limit(1)
    )
    return found is not None


def record(
    ws: Workspace,
    by: Principal | str,
    person: str,
    decision: str,
    purpose: str,
    institution: str | None = None,
    note: str | None = None,
) -> Choice:
    """Record a choice for ``person``; the resident or a clinician who cares for them may.

    ``by`` as a plain name is the data center's own operator at the command line (a signed
    form brought to the desk): trusted, and named in the record and the audit trail.
    """
    if decision not in DECISIONS:
        raise IdentityError(f"a consent decision is {' or '.join(DECISIONS)}, not {decision!r}")
    if purpose not in PURPOSES:
        raise IdentityError(f"a consent purpose is one of {', '.join(PURPOSES)}, not {purpose!r}")
    principal = by if isinstance(by, Principal) else None
    if principal is not None and not _may_record(ws, principal, person):
        audit.record(
            ws,
            principal,
            action="consent",
            outcome="denied",
            resource_type="Consent",
            interaction="create",
            patients=[person],
            reason="may not record consent for this person",
        )
        raise Forbidden(f"{principal.subject!r} may not record consent for this person")
    recorder = principal.subject if principal else f"operator:{by}"
    now = utcnow()
    with ws.catalog.session() as s:
        for old in s.scalars(_current(person).where(AccessConsent.purpose == purpose)):
            if old.institution == institution:
                old.superseded_at = now
        row = AccessConsent(
            id=str(uuid.uuid4()),
            person=person,
            decision=decision,
            purpose=purpose,
            institution=institution,
            recorded_by=recorder,
            recorded_at=now,
            superseded_at=None,
            note=note[:1000] if note else None,
        )
        s.add(row)
    audit.record(
        ws,
        principal,
        subject=recorder,
        action="consent",
        outcome="allowed",
        resource_type="Consent",
        interaction="create",
        patients=[person],
        reason=f"{decision} {purpose} {institution or 'any institution'}",
    )
    return _choice(row)


def _may_record(ws: Workspace, by: Principal, person: str) -> bool:
    if Role.RESIDENT in by.roles and by.patient and person in family(ws, by.patient):
        return True
    return Role.CLINICIAN in by.roles and bool(by.tenant) and cares_for(ws, person, str(by.tenant))


def _current(person: str) -> Select:
    return select(AccessConsent).where(AccessConsent.person == person, AccessConsent.superseded_at.is_(None))


def choices(ws: Workspace, person: str, *, history: bool = False) -> list[Choice]:
    """The person's choices in force (with ``history``, every one ever recorded), oldest first."""
    query = _current(person) if not history else select(AccessConsent).where(AccessConsent.person == person)
    with ws.catalog.session() as s:
        return [_choice(row) for row in s.scalars(query.order_by(AccessConsent.recorded_at))]


def permits(ws: Workspace, person: str | frozenset[str], purpose: str, institution: str) -> bool:
    """Does ``person`` let ``institution`` use their records held elsewhere for ``purpose``?

    Choices under any id of the person count; where two disagree at the same level, deny wins.
    """
    with ws.catalog.session() as s:
        ids = family_in(s, person) if isinstance(person, str) else person
        return permits_in(s, ids, purpose, institution, ws.settings.consent_default)


def permits_in(s: Session, ids: frozenset[str], purpose: str, institution: str, default: str) -> bool:
    query = select(AccessConsent).where(
        AccessConsent.person.in_(ids), AccessConsent.superseded_at.is_(None), AccessConsent.purpose == purpose
    )
    current = [_choice(row) for row in s.scalars(query)]
    specific = [c for c in current if c.institution == institution]
    general = [c for c in current if c.institution is None]
    for rules in (specific, general):
        if rules:
            return all(c.decision == "permit" for c in rules)
    return purpose == "treatment" and default == "opt-out"


def _choice(row: AccessConsent) -> Choice:
    return Choice(
        row.id,
        row.person,
        row.decision,
        row.purpose,
        row.institution,
        row.recorded_by,
        row.recorded_at.isoformat(),
        row.superseded_at is None,
    )


_CODES_PURPOSE = {code: purpose for purpose, code in _PURPOSE_CODES.items()}


@dataclass(frozen=True)
class ConsentRequest:
    """What a FHIR Consent sent to the API asks to record (see :func:`from_fhir`)."""

    person: str
    decision: str
    purpose: str
    institution: str | None


def from_fhir(resource: dict) -> ConsentRequest:
    """Read the choice a FHIR R4 Consent (as :meth:`Choice.as_fhir` writes them) expresses.

    Only the simple form medlake records is taken: ``patient`` a ``Person/<global id>`` (or
    ``Patient/<id>`` resolved by the caller beforehand), one ``provision`` with ``type``, one
    ``purpose`` code of v3-ActReason (TREAT, HRESCH, PUBHLTH) and at most one Organization actor.
    Anything richer is refused with the reason rather than recorded as something else.
    """
    if not isinstance(resource, dict) or resource.get("resourceType") != "Consent":
        raise IdentityError("expected a FHIR Consent resource")
    reference = (resource.get("patient") or {}).get("reference", "")
    if not isinstance(reference, str) or not reference.startswith("Person/") or len(reference) > 40:
        raise IdentityError("Consent.patient must reference the global person: Person/<id>")
    provision = resource.get("provision")
    if not isinstance(provision, dict) or provision.get("type") not in DECISIONS:
        raise IdentityError("Consent.provision.type must be permit or deny")
    if provision.get("provision"):
        raise IdentityError("nested Consent provisions are not supported: send one choice per Consent")
    purposes = provision.get("purpose") or []
    codes = [p.get("code") for p in purposes if isinstance(p, dict)]
    if len(codes) != 1 or codes[0] not in _CODES_PURPOSE:
        raise IdentityError("Consent.provision.purpose must be one of TREAT, HRESCH, PUBHLTH (v3-ActReason)")
    actors = provision.get("actor") or []
    if len(actors) > 1:
        raise IdentityError("a Consent names at most one institution (one Organization actor)")
    institution = None
    if actors:
        target = ((actors[0] or {}).get("reference") or {}).get("reference", "")
        if not isinstance(target, str) or not target.startswith("Organization/"):
            raise IdentityError("the Consent actor must reference an Organization/<institution id>")
        institution = target.split("/", 1)[1]
    return ConsentRequest(
        reference.split("/", 1)[1], provision["type"], _CODES_PURPOSE[codes[0]], institution
    )
