"""Break-glass: a clinician opens one person's whole record in an emergency, with a stated reason.

The access is time-limited (``break_glass_minutes``), bound to that clinician and that person,
flagged on every audit event it produces, and listed for review (``medlake audit
--break-glass``). A reason too short to say anything is refused.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from medlake.access import audit
from medlake.access.errors import Forbidden, IdentityError
from medlake.access.principal import Principal, Role
from medlake.catalog.models import AccessBreakGlass
from medlake.catalog.store import utcnow

if TYPE_CHECKING:
    from medlake.workspace import Workspace

MIN_REASON = 10


def open_access(ws: Workspace, principal: Principal, person: str, reason: str) -> AccessBreakGlass:
    """Open (or extend) an emergency access; only a clinician of an institution may."""
    if Role.CLINICIAN not in principal.roles or not principal.tenant:
        raise Forbidden("only a clinician of an institution may break the glass")
    if len(reason.strip()) < MIN_REASON:
        raise Forbidden(f"break-glass needs a reason of at least {MIN_REASON} characters")
    now = utcnow()
    row = AccessBreakGlass(
        id=str(uuid.uuid4()),
        subject=principal.subject,
        tenant=principal.tenant,
        person=person,
        reason=reason.strip()[:1000],
        opened_at=now,
        expires_at=now + timedelta(minutes=ws.settings.break_glass_minutes),
        reviewed=False,
    )
    with ws.catalog.session() as s:
        s.add(row)
    return row


def is_open(ws: Workspace, principal: Principal, person: str | frozenset[str]) -> AccessBreakGlass | None:
    """The principal's emergency access to ``person`` (any of its ids) still running, if any."""
    ids = frozenset({person}) if isinstance(person, str) else person
    with ws.catalog.session() as s:
        return open_in(s, principal.subject, ids)


def open_in(s: Session, subject: str, ids: frozenset[str]) -> AccessBreakGlass | None:
    """:func:`is_open` inside an open catalog session."""
    return s.scalar(
        select(AccessBreakGlass)
        .where(
            AccessBreakGlass.subject == subject,
            AccessBreakGlass.person.in_(ids),
            AccessBreakGlass.expires_at > utcnow(),
        )
        .order_by(AccessBreakGlass.expires_at.desc())
        .limit(1)
    )


def accesses(ws: Workspace, *, unreviewed: bool = False) -> list[AccessBreakGlass]:
    """Every emergency access (the report a privacy officer reviews), newest first."""
    query = select(AccessBreakGlass).order_by(AccessBreakGlass.opened_at.desc())
    if unreviewed:
        query = query.where(AccessBreakGlass.reviewed.is_(False))
    with ws.catalog.session() as s:
        return list(s.scalars(query))


def mark_reviewed(ws: Workspace, access_id: str, reviewer: str) -> AccessBreakGlass:
    """Record that a privacy officer reviewed an emergency access (kept, never deleted)."""
    with ws.catalog.session() as s:
        row = s.get(AccessBreakGlass, access_id)
        if row is None:
            raise IdentityError(f"no break-glass access {access_id[:40]!r}")
        row.reviewed = True
    audit.record(
        ws,
        None,
        subject=reviewer,
        action="break-glass-review",
        outcome="allowed",
        patients=[row.person],
        reason=f"reviewed the access of {row.subject}",
    )
    return row
