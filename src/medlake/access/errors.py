"""The access errors: a caller who is not who they say (401) or may not read this (403/404)."""

from __future__ import annotations

from medlake.errors import AccessError, InputError


class Unauthenticated(AccessError, PermissionError):
    """No credentials, or credentials that do not verify (expired, forged, revoked, disabled).

    The message is safe to send to the caller: it never quotes the token or the password.
    ``oauth_error`` is the OAuth 2.0 error code the token endpoint answers with.
    """

    def __init__(self, message: str, oauth_error: str = "invalid_grant") -> None:
        super().__init__(message)
        self.oauth_error = oauth_error


class Forbidden(AccessError, PermissionError):
    """An authenticated principal that may not do this; read paths answer 404 so ids cannot be probed."""


class IdentityError(InputError):
    """A user, client, key or consent that cannot be registered as given (unknown role, bad JWKS...)."""
