"""A system client's registered public keys (JWKS), checked once at registration.

SMART Backend Services clients sign their assertions with RS384 or ES384. Only public keys are
kept: a JWKS holding a private part (``d``) or a symmetric key (``oct``) is refused, so the
catalog never stores a secret and an HMAC key can never be confused with a public one.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from medlake.access.errors import IdentityError

ALGORITHMS = ("RS384", "ES384")
MIN_RSA_BITS = 2048
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


def algorithm_of(jwk: dict) -> str:
    """The one algorithm a key may sign with: RS384 for RSA, ES384 for P-384."""
    if jwk.get("kty") == "RSA":
        return "RS384"
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-384":
        return "ES384"
    raise IdentityError(f"key {jwk.get('kid')!r}: only RSA (RS384) and EC P-384 (ES384) keys are accepted")


def checked_jwks(jwks: dict) -> dict:
    """The JWKS to store: public RSA/P-384 keys only, each with a ``kid`` and its ``alg``."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise IdentityError('a JWKS is a JSON object {"keys": [...]} with at least one key')
    public = []
    for jwk in keys:
        if not isinstance(jwk, dict):
            raise IdentityError("every key of a JWKS is a JSON object")
        if any(member in jwk for member in _PRIVATE_MEMBERS):
            raise IdentityError(
                f"key {jwk.get('kid')!r} has a private or symmetric part: register the public key only"
            )
        alg = algorithm_of(jwk)
        if jwk.get("alg", alg) != alg:
            raise IdentityError(
                f"key {jwk.get('kid')!r} says alg {jwk.get('alg')!r}; medlake accepts {alg} for it"
            )
        try:
            key = jwt.PyJWK(jwk, alg).key
        except jwt.PyJWTError as exc:
            raise IdentityError(f"key {jwk.get('kid')!r} cannot be read: {exc}") from None
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
            raise IdentityError(f"key {jwk.get('kid')!r}: an RSA key needs at least {MIN_RSA_BITS} bits")
        kept = {
            k: v for k, v in jwk.items() if k in ("kty", "kid", "n", "e", "crv", "x", "y", "use", "key_ops")
        }
        kept["alg"] = alg
        kept["kid"] = str(jwk.get("kid") or _thumbprint(kept))
        public.append(kept)
    kids = [jwk["kid"] for jwk in public]
    if len(set(kids)) != len(kids):
        raise IdentityError("two keys of the JWKS share a kid")
    return {"keys": public}


def _thumbprint(jwk: dict) -> str:
    """The RFC 7638 thumbprint: a kid for a key registered without one."""
    members = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def read_key_file(path: Path) -> dict:
    """A JWKS from a ``.json`` file (a JWKS or a single JWK) or a PEM public key file."""
    if not path.is_file():
        raise IdentityError(f"no key file {path}")
    text = path.read_text()
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise IdentityError(f"{path} is not JSON: {exc}") from None
        return checked_jwks(data if "keys" in data else {"keys": [data]})
    if "PRIVATE KEY" in text:
        raise IdentityError(f"{path} holds a private key: register the public key only")
    try:
        key = load_pem_public_key(text.encode())
    except ValueError:
        raise IdentityError(f"{path} is neither a JWKS nor a PEM public key") from None
    if isinstance(key, rsa.RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(key, as_dict=True)
    else:
        raise IdentityError(f"{path}: only RSA and EC P-384 public keys are accepted")
    return checked_jwks({"keys": [jwk]})
