"""A workspace with a token key, and the keys and assertions of a SMART Backend Services client."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from medlake.access import keys
from medlake.workspace import Workspace

TOKEN_URL = "http://testserver/auth/token"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def access_ws(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.delenv(keys.CURRENT, raising=False)
    monkeypatch.delenv(keys.PREVIOUS, raising=False)
    keys.rotate(workspace.home)
    return workspace


class ClientKey:
    """A client's key pair: the JWKS to register (public) and assertions signed with the private key."""

    def __init__(self, kind: str = "RSA", kid: str = "k1") -> None:
        self.kid = kid
        if kind == "RSA":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.alg = "RS384"
            public = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ec.generate_private_key(ec.SECP384R1())
            self.alg = "ES384"
            public = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwks = {"keys": [{**public, "kid": kid, "alg": self.alg}]}

    def assertion(
        self, client_id: str, *, aud: str = TOKEN_URL, exp_in: int = 240, **overrides: object
    ) -> str:
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": aud,
            "exp": int(time.time()) + exp_in,
            "jti": uuid.uuid4().hex,
            **overrides,
        }
        return jwt.encode(claims, self.private, algorithm=self.alg, headers={"kid": self.kid})


@pytest.fixture(scope="session")
def rsa_key() -> ClientKey:
    return ClientKey("RSA")


@pytest.fixture(scope="session")
def ec_key() -> ClientKey:
    return ClientKey("EC", kid="e1")
