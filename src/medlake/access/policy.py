"""The one authorisation and consent check every read path goes through.

A read path never decides access itself: it asks :func:`authorize` for an :class:`AccessScope`
and applies it as a filter in its query, so a forbidden row is never fetched. The decision is
the intersection of three things, and denies by default when any of them is missing:

1. the **role** (what a resident, clinician, institution system... may ever see),
2. the **SMART scopes** of the token (which can only narrow the role, never widen it),
3. the resident's **consent** (which lets a clinician reach the person's records held by
   other institutions, or keeps them out), and break-glass for emergencies.

Every decision, allowed or denied, is written to the audit outbox before it is returned.

Several roles in one principal give the widest of their grants only when one contains the
others; two grants that cannot be expressed as one filter are refused rather than merged wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from medlake.access import audit, consent, emergency, scopes
from medlake.access.errors import Forbidden
from medlake.access.principal import Principal, Role

if TYPE_CHECKING:
    from medlake.workspace import Workspace

INTERACTIONS = frozenset({"read", "search", "export"})

#: Resource types whose every row belongs to one person (the patient compartment).
PERSON_TYPES = frozenset(
    {
        "Patient",
        "Person",
        "Encounter",
        "Condition",
        "Observation",
        "MedicationRequest",
        "Procedure",
        "Immunization",
        "DiagnosticReport",
        "DocumentReference",
        "ImagingStudy",
        "Claim",
        "Device",
    }
)
#: Directory resources of an institution: staff and organisations, no person's clinical data.
DIRECTORY_TYPES = frozenset({"Organization", "Practitioner"})
#: The trail of who read what, and the residents' choices.
AUDIT_TYPE = "AuditEvent"
CONSENT_TYPE = "Consent"

#: The scope contexts each role may use (a person's token never carries system/ scopes).
CONTEXTS: dict[Role, frozenset[str]] = {
    Role.RESIDENT: frozenset({"patient", "user"}),
    Role.CLINICIAN: frozenset({"user"}),
    Role.INSTITUTION: frozenset({"system"}),
    Role.ANALYST: frozenset({"user", "system"}),
    Role.STEWARD: frozenset({"user", "system"}),
    Role.ADMIN: frozenset({"user", "system"}),
}


@dataclass(frozen=True)
class AccessScope:
    """What one principal may read of one resource type: the filter every read applies.

    Both filters hold at once (a row must match ``patients`` AND ``institutions``); ``None``
    means that dimension is not limited. An empty set means nothing matches.
    """

    resource_type: str
    patients: frozenset[str] | None  # global person ids; None = not limited by patient
    institutions: frozenset[str] | None  # institution ids; None = not limited by institution

    def contains(self, other: AccessScope) -> bool:
        """True when every row ``other`` admits, this admits too."""
        return _within(other.patients, self.patients) and _within(other.institutions, self.institutions)

    def admits(self, patient: str | None, institution: str | None) -> bool:
        """True when a row of ``patient`` held at ``institution`` passes the filter."""
        return (self.patients is None or patient in self.patients) and (
            self.institutions is None or institution in self.institutions
        )


def _within(inner: frozenset[str] | None, outer: frozenset[str] | None) -> bool:
    return outer is None or (inner is not None and inner <= outer)


def authorize(
    ws: Workspace,
    principal: Principal,
    resource_type: str,
    interaction: str,
    *,
    patient: str | None = None,
    break_glass: str | None = None,
) -> AccessScope:
    """The one authorisation and consent check. interaction in {"read","search","export"}.

    Raises medlake.access.errors.Forbidden (a MedlakeError) when nothing may be read. Every
    decision, allowed or denied, is in the audit outbox (committed) before this returns.

    ``patient`` (a global person id) is the person a request is about, when it is about one
    (``$everything``, ``?patient=``, a read of a Patient): it lets a clinician reach that
    person's records held by other institutions, when the person has a record at the
    clinician's institution and their consent shares it. ``break_glass`` is a clinician's
    stated reason for an emergency access to ``patient``'s whole record (time-limited,
    flagged and reported).
    """
    broke_glass = False  # (the module `emergency` keeps its name)
    try:
        scope = _grant(principal, resource_type, interaction)
        if scope.patients is not None and principal.patient:
            scope = AccessScope(resource_type, consent.family(ws, principal.patient), scope.institutions)
        if break_glass is not None and patient is None:
            raise Forbidden("break-glass names the person it opens (patient=...)")
        if patient is not None:
            scope, broke_glass = _about_person(ws, principal, scope, patient, break_glass)
    except Forbidden as refusal:
        audit.record(
            ws,
            principal,
            action="authorize",
            outcome="denied",
            resource_type=resource_type,
            interaction=interaction,
            patients=[patient] if patient else None,
            reason=str(refusal),
            break_glass=break_glass is not None,
        )
        raise
    audit.record(
        ws,
        principal,
        action="break-glass" if broke_glass else "authorize",
        outcome="allowed",
        resource_type=resource_type,
        interaction=interaction,
        patients=scope.patients,
        institutions=scope.institutions,
        purpose="break-glass" if broke_glass else _purpose(principal),
        break_glass=broke_glass,
        reason=break_glass,
    )
    return scope


def _purpose(principal: Principal) -> str:
    if Role.RESIDENT in principal.roles:
        return "patient-request"
    return "treatment" if principal.roles & {Role.CLINICIAN, Role.INSTITUTION} else "operations"


def _grant(principal: Principal, resource_type: str, interaction: str) -> AccessScope:
    """What the roles and scopes allow, before any person is named."""
    if interaction not in INTERACTIONS:
        raise Forbidden(f"unknown interaction {interaction!r}")
    grants = []
    reasons = []
    for role in sorted(principal.roles):
        try:
            grants.append(_role_grant(principal, role, resource_type, interaction))
        except Forbidden as refusal:
            reasons.append(str(refusal))
    if not grants:
        raise Forbidden(
            reasons[0]
            if len(reasons) == 1
            else f"no role of {principal.subject!r} may {interaction} {resource_type}"
        )
    widest = next((g for g in grants if all(g.contains(other) for other in grants)), None)
    if widest is None:
        raise Forbidden(
            f"{principal.subject!r} has roles whose grants cannot be combined; use one role per account"
        )
    return widest


def _about_person(
    ws: Workspace, principal: Principal, scope: AccessScope, person: str, break_glass: str | None
) -> tuple[AccessScope, bool]:
    """The scope narrowed to one person; across institutions where consent or an emergency allows.

    The person's ids, a running break-glass, the care relationship and the consent are read in
    one catalog session: one round trip's worth of connection work for the whole question.
    """
    clinician = Role.CLINICIAN in principal.roles and scope.institutions == {principal.tenant}
    if break_glass is not None and not clinician:
        raise Forbidden("only a clinician of an institution may break the glass")
    tenant = str(principal.tenant)
    with ws.catalog.session() as s:
        ids = consent.family_in(s, person)  # the person under every id the index ever gave them
        if scope.patients is not None and not ids & scope.patients:
            raise Forbidden("this person's record is not yours to read")
        running = (
            clinician and break_glass is None and emergency.open_in(s, principal.subject, ids) is not None
        )
        shared = (
            clinician
            and not running
            and _kind(scope.resource_type) == "person"
            and consent.cares_for_in(s, ids, tenant)
            and consent.permits_in(s, ids, "treatment", tenant, ws.settings.consent_default)
        )
    if break_glass is not None:
        emergency.open_access(ws, principal, person, break_glass)
        return AccessScope(scope.resource_type, ids, None), True
    if running:
        return AccessScope(scope.resource_type, ids, None), True
    if shared:
        return AccessScope(scope.resource_type, ids, None), False
    return AccessScope(scope.resource_type, ids, scope.institutions), False


def _role_grant(principal: Principal, role: Role, resource_type: str, interaction: str) -> AccessScope:
    """What ``role`` alone lets ``principal`` do, after its scopes; raises Forbidden for nothing."""
    kind = _kind(resource_type)
    if not scopes.granted(principal.scopes, CONTEXTS[role], resource_type, interaction):
        raise Forbidden(f"no scope of the token grants {interaction} of {resource_type} to a {role}")
    if role is Role.RESIDENT:
        if not principal.patient:
            raise Forbidden("a resident account not bound to a person reads nothing")
        if kind == "directory":
            return AccessScope(resource_type, None, None)
        if kind in ("person", "audit", "consent"):
            return AccessScope(resource_type, frozenset({principal.patient}), None)
    elif role in (Role.CLINICIAN, Role.INSTITUTION):
        if not principal.tenant:
            raise Forbidden(f"a {role} account not bound to an institution reads nothing")
        if kind in ("person", "directory") and not (role is Role.CLINICIAN and interaction == "export"):
            return AccessScope(resource_type, None, frozenset({principal.tenant}))
    elif role is Role.STEWARD and kind == "audit" and interaction in ("read", "search"):
        return AccessScope(resource_type, None, None)
    raise Forbidden(_refusal(role, resource_type, interaction))


def _kind(resource_type: str) -> str:
    if resource_type in PERSON_TYPES:
        return "person"
    if resource_type in DIRECTORY_TYPES:
        return "directory"
    if resource_type == AUDIT_TYPE:
        return "audit"
    if resource_type == CONSENT_TYPE:
        return "consent"
    raise Forbidden(f"{resource_type!r} is not a resource type medlake serves")


def _refusal(role: Role, resource_type: str, interaction: str) -> str:
    if role is Role.ANALYST:
        return "analysts get aggregate and de-identified data only, no record-level data"
    if role is Role.ADMIN:
        return "administrators manage users, clients and settings and read no clinical data"
    return f"a {role} may not {interaction} {resource_type}"


WRITE_INTERACTIONS = frozenset({"create", "update"})


def authorize_write(
    ws: Workspace, principal: Principal, resource_type: str, interaction: str, institution: str
) -> None:
    """May ``principal`` write a ``resource_type`` under ``institution`` (a batch, a transaction, $import)?

    Only an institution's own system client writes, only under its own institution id, and only
    with a ``system/<type>.c`` (create) or ``.u`` (update) scope; every other caller is refused.
    Raises :class:`Forbidden`; the decision is in the audit outbox either way.
    """
    try:
        if interaction not in WRITE_INTERACTIONS:
            raise Forbidden(f"unknown write interaction {interaction!r}")
        _kind(resource_type)
        if Role.INSTITUTION not in principal.roles or not principal.tenant:
            raise Forbidden("only an institution's system client writes data")
        if institution != principal.tenant:
            raise Forbidden("a system client writes only under its own institution id")
        if not scopes.granted(principal.scopes, CONTEXTS[Role.INSTITUTION], resource_type, interaction):
            raise Forbidden(f"no scope of the token grants {interaction} of {resource_type}")
    except Forbidden as refusal:
        audit.record(
            ws,
            principal,
            action="write",
            outcome="denied",
            resource_type=resource_type,
            interaction=interaction,
            institutions=[institution],
            reason=str(refusal),
        )
        raise
    audit.record(
        ws,
        principal,
        action="write",
        outcome="allowed",
        resource_type=resource_type,
        interaction=interaction,
        institutions=[institution],
        purpose="operations",
    )
