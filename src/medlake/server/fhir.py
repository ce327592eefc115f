"""The FHIR REST routes: capabilities, read and search, each behind the one authorisation check.

Every data route takes the verified caller (``medlake.access.routes.current_principal``), asks
``medlake.access.policy.authorize`` for the scope of the type it touches, and lets the serving
index apply that scope in SQL. A read the scope does not reach answers 404 exactly like an id
that does not exist; what was returned is written to the audit trail before it is sent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response

from medlake.access import audit
from medlake.access.errors import Forbidden
from medlake.access.policy import AccessScope, authorize
from medlake.access.principal import Principal
from medlake.access.routes import current_principal, workspace_of
from medlake.server.capability import capability_statement
from medlake.server.outcome import fhir_response, operation_outcome
from medlake.server.paging import Page, open_page, page_key, sign_page
from medlake.serving import Found, SearchError, ServingIndex, check_type, parse_search
from medlake.workspace import Workspace

router = APIRouter(prefix="/fhir", tags=["fhir"])
Caller = Annotated[Principal, Depends(current_principal)]
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,200}$")
_STARTED = datetime.now(UTC).isoformat(timespec="seconds")
NOT_FOUND = "{type}/{id} is not known here"


def index_of(request: Request) -> ServingIndex:
    return request.app.state.index


def fhir_base(request: Request) -> str:
    public = workspace_of(request).settings.access_public_url
    return f"{(public or str(request.base_url)).rstrip('/')}/fhir"


@router.get("/metadata", summary="CapabilityStatement: what this server serves")
def metadata(request: Request) -> Response:
    return fhir_response(capability_statement(fhir_base(request), _STARTED))


@router.get("/{resource_type}/{resource_id}", summary="read one resource by its integrated id")
def read(resource_type: str, resource_id: str, request: Request, principal: Caller) -> Response:
    ws = workspace_of(request)
    check_type(resource_type)
    missing = operation_outcome(404, NOT_FOUND.format(type=resource_type, id=resource_id[:200]))
    try:
        scope = authorize(ws, principal, resource_type, "read")
    except Forbidden as refusal:
        audit.record(
            ws,
            principal,
            action="read",
            outcome="denied",
            resource_type=resource_type,
            interaction="read",
            reason=str(refusal),
        )
        return missing  # the same answer as an id that does not exist: ids cannot be probed
    found = index_of(request).read(resource_type, resource_id, scope) if _ID.match(resource_id) else None
    if found is None:
        return missing
    audit.record_access(ws, principal, resource_type, "read", [(found.id, found.person_id)])
    return fhir_response(found.resource)


@router.get(
    "/{resource_type}", summary="search (FHIR R4 search parameters of the type, _count, _sort, _include)"
)
def search(resource_type: str, request: Request, principal: Caller) -> Response:
    ws = workspace_of(request)
    check_type(resource_type)
    params = [(k, v) for k, v in request.query_params.multi_items()]
    key = page_key(ws.home)
    offset = 0
    paging = [v for k, v in params if k == "_page"]
    if paging:
        if len(params) != 1:
            raise SearchError("a paging link (_page) takes no other parameters")
        page = open_page(key, principal.subject, paging[0])
        if page.resource_type != resource_type:
            raise SearchError("the paging link belongs to another resource type")
        params, offset = page.params, page.offset
    query = parse_search(resource_type, params)
    try:
        scope = authorize(ws, principal, resource_type, "search")
    except Forbidden as refusal:
        audit.record(
            ws,
            principal,
            action="search",
            outcome="denied",
            resource_type=resource_type,
            interaction="search",
            reason=str(refusal),
        )
        raise

    def include_scope(target_type: str) -> AccessScope | None:
        try:
            return authorize(ws, principal, target_type, "search")
        except Forbidden:
            return None

    result = index_of(request).search(query, scope, offset, include_scope)
    _audit_returned(ws, principal, resource_type, result.matches + result.included)
    base = fhir_base(request)
    links = [
        {
            "relation": "self",
            "url": f"{base}/{resource_type}?{urlencode(params)}" if params else f"{base}/{resource_type}",
        }
    ]
    if result.has_next:
        next_page = Page(resource_type, params, offset + len(result.matches))
        links.append(
            {
                "relation": "next",
                "url": f"{base}/{resource_type}?_page={sign_page(key, principal.subject, next_page)}",
            }
        )
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": result.total,
        "link": links,
        "entry": [_entry(base, found, "match") for found in result.matches]
        + [_entry(base, found, "include") for found in result.included],
    }
    return fhir_response(bundle)


def _entry(base: str, found: Found, mode: str) -> dict:
    return {
        "fullUrl": f"{base}/{found.resource_type}/{found.id}",
        "resource": found.resource,
        "search": {"mode": mode},
    }


def _audit_returned(ws: Workspace, principal: Principal, resource_type: str, returned: list[Found]) -> None:
    """One audit event per type returned, written before the response is sent."""
    by_type: dict[str, list[tuple[str, str | None]]] = {}
    for found in returned:
        by_type.setdefault(found.resource_type, []).append((found.id, found.person_id))
    if not returned:
        by_type[resource_type] = []
    for returned_type, pairs in by_type.items():
        audit.record_access(ws, principal, returned_type, "search", pairs)
