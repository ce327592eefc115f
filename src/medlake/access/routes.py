"""The HTTP face of access: the OAuth 2.0 token endpoint, revocation, SMART discovery, and the
dependency every protected route takes to learn who is calling.

The server mounts :data:`router` and keeps its workspace at ``app.state.workspace``. A route
that serves data declares ``principal: Principal = Depends(current_principal)`` and then asks
:func:`medlake.access.policy.authorize`; nothing here decides what may be read.

Token requests are ``application/x-www-form-urlencoded`` (RFC 6749): ``grant_type=password``
(``username``, ``password``), ``client_credentials`` (SMART Backend Services:
``client_assertion_type``, ``client_assertion``, ``scope``) or ``refresh_token``. Answers never
echo a credential; failures are OAuth 2.0 error objects and land in the audit trail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from urllib.parse import parse_qs

import jwt
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from medlake.access import audit, tokens
from medlake.access.client_keys import ALGORITHMS
from medlake.access.errors import Unauthenticated
from medlake.access.grants import client_credentials_grant, password_grant
from medlake.access.identity import client_row, user_row
from medlake.access.principal import Principal

if TYPE_CHECKING:
    from medlake.workspace import Workspace

MAX_FORM_BYTES = 64 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

router = APIRouter(tags=["auth"])
_bearer = HTTPBearer(auto_error=False, description="an access token from POST /auth/token")


def workspace_of(request: Request) -> Workspace:
    return request.app.state.workspace


def token_url(request: Request) -> str:
    """The URL client assertions must name as ``aud``: the configured public one, else this request's."""
    public = workspace_of(request).settings.access_public_url
    if public:
        return f"{public.rstrip('/')}/auth/token"
    return str(request.url.replace(query=""))


def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The verified caller of a protected route; raises :class:`Unauthenticated` (answer 401) otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send an access token: Authorization: Bearer <token>", "invalid_token")
    ws = workspace_of(request)
    try:
        return tokens.verify(ws, credentials.credentials)
    except Unauthenticated as refusal:
        audit.record(ws, None, action="authenticate", outcome="denied", reason=str(refusal))
        raise


def unauthenticated_response(refusal: Unauthenticated) -> JSONResponse:
    """401 with the RFC 6750 challenge; the server may register it as the handler of Unauthenticated."""
    return JSONResponse(
        {"error": refusal.oauth_error, "error_description": str(refusal)},
        status_code=401,
        headers={"WWW-Authenticate": f'Bearer error="{refusal.oauth_error}"', **NO_STORE},
    )


def mount(app: FastAPI, ws: Workspace) -> None:
    """Give ``app`` the token endpoint, discovery, the workspace and the 401 answer for bad tokens."""
    app.state.workspace = ws
    app.include_router(router)

    async def _refused(request: Request, refusal: Exception) -> JSONResponse:
        assert isinstance(refusal, Unauthenticated)
        return unauthenticated_response(refusal)

    app.add_exception_handler(Unauthenticated, _refused)


async def _form(request: Request) -> dict[str, str]:
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        raise Unauthenticated(
            "send the token request as application/x-www-form-urlencoded", "invalid_request"
        )
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise Unauthenticated("the token request is too large", "invalid_request")
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise Unauthenticated("the token request is not UTF-8", "invalid_request") from None
    if any(len(values) > 1 for values in fields.values()):
        raise Unauthenticated("a token request parameter is repeated", "invalid_request")  # RFC 6749 §3.2
    return {name: values[0] for name, values in fields.items()}


@router.post(
    "/auth/token",
    summary="OAuth 2.0 token endpoint (password, client_credentials with a JWT assertion, refresh_token)",
    responses={400: {"description": "an OAuth 2.0 error"}, 401: {"description": "invalid client"}},
)
async def token(request: Request) -> JSONResponse:
    ws = workspace_of(request)
    claimed = "anonymous"
    try:
        form = await _form(request)
        grant = form.get("grant_type")
        if grant == "password":
            claimed = form.get("username", "")[:100] or "anonymous"
            issued = password_grant(ws, claimed, form.get("password", ""), form.get("scope"))
        elif grant == "client_credentials":
            claimed = _claimed_client(form.get("client_assertion", ""))
            if form.get("client_id") and form["client_id"] != claimed:
                raise Unauthenticated("client_id and the assertion's issuer differ", "invalid_client")
            issued = client_credentials_grant(
                ws,
                form.get("client_assertion_type"),
                form.get("client_assertion"),
                form.get("scope"),
                token_url(request),
            )
        elif grant == "refresh_token":
            issued = tokens.refresh(ws, form.get("refresh_token", ""), form.get("scope"))
        else:
            raise Unauthenticated(
                "grant_type is password, client_credentials or refresh_token", "unsupported_grant_type"
            )
    except Unauthenticated as refusal:
        audit.record(
            ws,
            None,
            action="authenticate",
            outcome="denied",
            subject=_known(ws, claimed),
            reason=str(refusal),
        )
        status = 401 if refusal.oauth_error == "invalid_client" else 400
        return JSONResponse(
            {"error": refusal.oauth_error, "error_description": str(refusal)},
            status_code=status,
            headers=NO_STORE,
        )
    audit.record(
        ws, None, action="authenticate", outcome="allowed", subject=claimed, reason=f"scope {issued.scope}"
    )
    return JSONResponse(issued.response(), headers=NO_STORE)


def _known(ws: Workspace, claimed: str) -> str:
    """The name a failed sign-in tried, if it is an account's; else a placeholder.

    People type their password into the name field: a name that is no account's is not written
    to the trail, where it could be someone's password.
    """
    if claimed != "anonymous" and (user_row(ws, claimed) or client_row(ws, claimed)):
        return claimed
    return "unknown-account"


def _claimed_client(assertion: str) -> str:
    """The client id an assertion claims (unverified; for the audit trail of a failure only)."""
    try:
        claimed = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return "anonymous"
    return str(claimed)[:100] if claimed else "anonymous"


@router.post("/auth/revoke", summary="OAuth 2.0 token revocation (RFC 7009)")
async def revoke(request: Request) -> JSONResponse:
    try:
        form = await _form(request)
    except Unauthenticated as refusal:
        return JSONResponse(
            {"error": refusal.oauth_error, "error_description": str(refusal)}, status_code=400
        )
    if form.get("token"):
        tokens.revoke(workspace_of(request), form["token"])
    return JSONResponse({}, headers=NO_STORE)  # the same answer for any token: nothing to learn


def smart_configuration(request: Request) -> dict:
    """SMART App Launch discovery: what this server's authorisation speaks."""
    ws = workspace_of(request)
    base = (ws.settings.access_public_url or str(request.base_url)).rstrip("/")
    return {
        "issuer": tokens.issuer(ws),
        "token_endpoint": f"{base}/auth/token",
        "revocation_endpoint": f"{base}/auth/revoke",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(ALGORITHMS),
        "grant_types_supported": ["client_credentials", "password", "refresh_token"],
        "scopes_supported": ["system/*.rs", "user/*.rs", "patient/*.rs", "system/*.read", "offline_access"],
        "response_types_supported": ["token"],
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
        "code_challenge_methods_supported": [],
    }


router.add_api_route("/.well-known/smart-configuration", smart_configuration, methods=["GET"], tags=["auth"])
router.add_api_route(
    "/fhir/.well-known/smart-configuration",
    smart_configuration,
    methods=["GET"],
    tags=["auth"],
    include_in_schema=False,
)
