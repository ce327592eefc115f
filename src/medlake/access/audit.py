"""The audit trail: every authorisation decision and every access, as a FHIR AuditEvent.

An event is written to the catalog's outbox in its own committed transaction *before* the
caller gets its answer (durable even if the server dies the next instant), then flushed to the
append-only Delta table ``audit/events`` of the lake. The flush claims a batch of outbox rows
first and names the Delta commit after the batch, so a flush killed between the lake commit
and the catalog update is completed by the next one, never written twice.

An event names the principal (subject, roles, institution), the resources, the persons and
the purpose; never a token, a password, an assertion or a resource's content. The table is
deliberately not a catalog dataset: analysts' SQL attaches every dataset, and the trail of who
looked at whom is not theirs to query.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import delete, select, update

from medlake.access.principal import Principal
from medlake.catalog.models import AuditOutbox
from medlake.catalog.store import utcnow

if TYPE_CHECKING:
    from medlake.workspace import Workspace

LOCATION = "audit/events"
FLUSH_BATCH = 5_000
STALE_SECONDS = 300

#: v3 ActReason codes for the purposes medlake knows.
PURPOSE_CODES = {
    "treatment": "TREAT",
    "break-glass": "ETREAT",
    "research": "HRESCH",
    "public-health": "PUBHLTH",
    "operations": "HOPERAT",
    "patient-request": "PATRQT",
}
_INTERACTION_ACTIONS = {
    "read": "R",
    "search": "E",
    "export": "E",
    "create": "C",
    "update": "U",
    "delete": "D",
}

SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("recorded", pa.timestamp("us", tz="UTC")),
        ("action", pa.string()),  # authorize | access | authenticate | consent | break-glass
        ("outcome", pa.string()),  # allowed | denied
        ("subject", pa.string()),
        ("roles", pa.list_(pa.string())),
        ("tenant", pa.string()),
        ("resource_type", pa.string()),
        ("interaction", pa.string()),
        ("patients", pa.list_(pa.string())),  # null: not limited to named persons
        ("institutions", pa.list_(pa.string())),
        ("resources", pa.list_(pa.string())),
        ("purpose", pa.string()),
        ("break_glass", pa.bool_()),
        ("reason", pa.string()),
        ("event", pa.string()),  # the FHIR AuditEvent as JSON
    ]
)


def record(
    ws: Workspace,
    principal: Principal | None,
    *,
    action: str,
    outcome: str,
    resource_type: str | None = None,
    interaction: str | None = None,
    patients: Iterable[str] | None = None,
    institutions: Iterable[str] | None = None,
    resources: Iterable[str] = (),
    purpose: str = "treatment",
    break_glass: bool = False,
    reason: str | None = None,
    subject: str | None = None,
) -> str:
    """Write one event to the outbox (committed when this returns); returns its id.

    ``subject`` names a caller who is not (yet) a principal, e.g. a user name that failed to
    sign in. ``reason`` is a refusal's message or a break-glass reason: never a credential.
    """
    row = {
        "event_id": str(uuid.uuid4()),
        "recorded": utcnow().isoformat(),
        "action": action,
        "outcome": outcome,
        "subject": principal.subject if principal else (subject or "anonymous")[:100],
        "roles": sorted(principal.roles) if principal else [],
        "tenant": principal.tenant if principal else None,
        "resource_type": resource_type,
        "interaction": interaction,
        "patients": None if patients is None else sorted(set(patients)),
        "institutions": None if institutions is None else sorted(set(institutions)),
        "resources": sorted(set(resources)),
        "purpose": purpose,
        "break_glass": break_glass,
        "reason": reason[:500] if reason else None,
    }
    row["event"] = json.dumps(as_fhir(row), separators=(",", ":"))
    with ws.catalog.session() as s:
        s.add(AuditOutbox(event_id=row["event_id"], recorded_at=utcnow(), event=row))
    return row["event_id"]


def record_access(
    ws: Workspace,
    principal: Principal,
    resource_type: str,
    interaction: str,
    resources: Iterable[tuple[str, str | None]],
    *,
    purpose: str = "treatment",
) -> str:
    """What a read path actually returned: ``(resource id, global person id)`` pairs, one event.

    The serving side calls it with the rows of a read, a search page, ``$everything`` or an export
    file, before it sends them, so "who looked at my data" lists the hits and not only the query.
    """
    pairs = list(resources)
    return record(
        ws,
        principal,
        action="access",
        outcome="allowed",
        resource_type=resource_type,
        interaction=interaction,
        patients=[person for _, person in pairs if person],
        resources=[f"{resource_type}/{rid}" for rid, _ in pairs],
        purpose=purpose,
    )


def as_fhir(row: dict) -> dict:
    """The FHIR R4 AuditEvent of an event row."""
    allowed = row["outcome"] == "allowed"
    event = {
        "resourceType": "AuditEvent",
        "id": row["event_id"],
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        },
        "subtype": [{"system": "http://medlake.org/CodeSystem/audit-action", "code": row["action"]}],
        "action": _INTERACTION_ACTIONS.get(row["interaction"] or "", "E"),
        "recorded": row["recorded"],
        "outcome": "0" if allowed else "4",
        "purposeOfEvent": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                        "code": PURPOSE_CODES.get(
                            "break-glass" if row["break_glass"] else row["purpose"], "TREAT"
                        ),
                    }
                ]
            }
        ],
        "agent": [
            {
                "who": {"identifier": {"value": row["subject"]}, "display": row["subject"]},
                "role": [{"text": role} for role in row["roles"]],
                "requestor": True,
                **({"location": {"identifier": {"value": row["tenant"]}}} if row["tenant"] else {}),
            }
        ],
        "source": {"observer": {"display": "medlake"}},
        "entity": [
            {"what": {"reference": f"Person/{p}"}, "role": {"code": "1", "display": "Patient"}}
            for p in row["patients"] or []
        ]
        + [{"what": {"reference": r}} for r in row["resources"]],
    }
    if row["reason"]:
        event["outcomeDesc"] = row["reason"]
    if row["break_glass"]:
        event["meta"] = {
            "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "BTG"}]
        }
    return event


# the lake --------------------------------------------------------------------------------
def flush(ws: Workspace, limit: int = FLUSH_BATCH, stale_after: float = STALE_SECONDS) -> int:
    """Move outbox events to the Delta table, exactly once; returns how many landed.

    A batch another flush claimed is taken over only ``stale_after`` seconds after its claim
    (that flush is presumed dead): two live flushers never write the same batch.
    """
    uri = ws.lake.resolve(LOCATION)
    landed = 0
    for batch in _claimed_batches(ws, limit, stale_after):
        with ws.catalog.session() as s:
            rows = list(
                s.scalars(
                    select(AuditOutbox).where(AuditOutbox.flush_batch == batch).order_by(AuditOutbox.seq)
                )
            )
        app_id = f"medlake-audit-{batch}"
        if rows and ws.lake.committed_version(uri, app_id) is None:
            ws.lake.write(
                uri,
                _table([r.event for r in rows]),
                app_ids=[app_id],
                unique=["event_id"],
                long_text=["event"],
            )
        with ws.catalog.session() as s:  # in the lake now: the outbox does not keep a second copy
            s.execute(delete(AuditOutbox).where(AuditOutbox.flush_batch == batch))
        landed += len(rows)
    return landed


def _claimed_batches(ws: Workspace, limit: int, stale_after: float = STALE_SECONDS) -> list[str]:
    """Batches a dead flush left unfinished, then one new batch of unclaimed rows.

    A batch id starts with the second it was claimed (``<epoch>-<random>``), which tells a
    batch whose flush died from one whose flush is still running.
    """
    now = int(time.time())
    with ws.catalog.session() as s:
        unfinished = s.scalars(
            select(AuditOutbox.flush_batch).where(AuditOutbox.flush_batch.is_not(None)).distinct()
        )
        left = {batch for batch in unfinished if now - _claimed_at(batch) >= stale_after}
        seqs = list(
            s.scalars(
                select(AuditOutbox.seq)
                .where(AuditOutbox.flush_batch.is_(None))
                .order_by(AuditOutbox.seq)
                .limit(limit)
            )
        )
        if seqs:
            batch = f"{now}-{uuid.uuid4().hex[:24]}"
            s.execute(
                update(AuditOutbox)
                .where(AuditOutbox.seq.in_(seqs), AuditOutbox.flush_batch.is_(None))
                .values(flush_batch=batch)
            )
            left.add(batch)
    return sorted(left)


def _claimed_at(batch: str) -> int:
    head = batch.split("-", 1)[0]
    return int(head) if head.isdigit() else 0


def _table(events: list[dict]) -> pa.Table:
    columns = {field.name: [e.get(field.name) for e in events] for field in SCHEMA}
    columns["recorded"] = [datetime.fromisoformat(v) for v in columns["recorded"]]
    return pa.table(columns, schema=SCHEMA)


def events(
    ws: Workspace, *, person: str | None = None, subject: str | None = None, since: datetime | None = None
) -> pa.Table:
    """The trail, oldest first, after flushing what the outbox holds; filtered by person, subject, time."""
    flush(ws)
    table = ws.lake.read(ws.lake.resolve(LOCATION))
    if table is None:
        return SCHEMA.empty_table()
    if person is not None:
        table = table.filter(pa.array([person in (p or []) for p in table["patients"].to_pylist()]))
    if subject is not None:
        table = table.filter(pc.equal(table["subject"], subject))
    if since is not None:
        table = table.filter(
            pc.greater_equal(table["recorded"], pa.scalar(since, pa.timestamp("us", tz="UTC")))
        )
    return table.sort_by("recorded")
