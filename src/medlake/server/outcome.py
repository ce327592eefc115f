"""Errors as FHIR ``OperationOutcome`` resources with the HTTP status that fits.

The message a client sees is the one the error was raised with — written for that client,
never quoting a token, a password, or data the caller may not read — or, for an unexpected
failure, a fixed sentence: a traceback is for the server's log only.
"""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from medlake.access.errors import Forbidden, Unauthenticated
from medlake.access.routes import unauthenticated_response
from medlake.serving import SearchError, UnknownResourceType

FHIR_JSON = "application/fhir+json"
log = logging.getLogger(__name__)

#: HTTP status -> OperationOutcome.issue.code
_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    410: "deleted",
    413: "too-costly",
    422: "processing",
    500: "exception",
}


def fhir_response(body: dict, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=FHIR_JSON, headers=headers)


def operation_outcome(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error" if status < 500 else "fatal",
                "code": _ISSUE_CODES.get(status, "processing"),
                "diagnostics": message,
            }
        ],
    }
    return fhir_response(body, status, headers)


def install_handlers(app: FastAPI) -> None:
    """Every error the app can raise, answered as an OperationOutcome (401s outside /fhir as OAuth)."""

    async def search_error(_request: Request, error: Exception) -> Response:
        return operation_outcome(400, str(error))

    async def unknown_type(_request: Request, error: Exception) -> Response:
        return operation_outcome(404, str(error))

    async def forbidden(_request: Request, error: Exception) -> Response:
        return operation_outcome(403, str(error))

    async def unauthenticated(request: Request, error: Exception) -> Response:
        assert isinstance(error, Unauthenticated)
        if not request.url.path.startswith("/fhir"):
            return unauthenticated_response(error)
        challenge = f'Bearer error="{error.oauth_error}"'
        return operation_outcome(401, str(error), {"WWW-Authenticate": challenge})

    async def invalid_request(_request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        where = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in error.errors()
        )
        return operation_outcome(400, f"invalid request ({where})")

    async def http_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return operation_outcome(error.status_code, str(error.detail), dict(error.headers or {}))

    async def unexpected(_request: Request, error: Exception) -> Response:
        log.exception("unexpected error serving a request", exc_info=error)
        return operation_outcome(500, "the server failed to answer this request; the failure is logged")

    app.add_exception_handler(SearchError, search_error)
    app.add_exception_handler(UnknownResourceType, unknown_type)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(Unauthenticated, unauthenticated)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
