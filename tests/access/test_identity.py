"""Users and clients in the catalog: hashes not passwords, public keys not private ones, clear refusals."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from medlake.access import identity
from medlake.access.client_keys import read_key_file
from medlake.access.errors import IdentityError
from medlake.access.passwords import verify_password

from .conftest import PASSWORD, ClientKey


def test_a_user_is_stored_with_an_argon2_hash_and_never_the_password(access_ws) -> None:
    identity.add_user(access_ws, "dr-b", ["clinician"], PASSWORD, tenant="hosp-a")
    row = identity.user_row(access_ws, "dr-b")
    assert row.password_hash.startswith("$argon2id$")
    assert verify_password(row.password_hash, PASSWORD) and not verify_password(
        row.password_hash, "wrong" * 4
    )
    assert row.scopes == ["user/*.rs"] and row.roles == ["clinician"]
    with access_ws.catalog.engine.connect() as con:
        dump = json.dumps([list(r) for r in con.execute(text("SELECT * FROM access_users"))], default=str)
    assert PASSWORD not in dump
    assert PASSWORD.encode() not in (access_ws.home / "catalog.db").read_bytes()


@pytest.mark.parametrize(
    ("roles", "tenant", "patient", "message"),
    [
        (["resident"], None, None, "--person"),
        (["clinician"], None, None, "--institution"),
        (["doctor"], "hosp-a", None, "roles are"),
        ([], None, None, "at least one role"),
        (["clinician"], "hosp-a", "P-1", "only a resident"),
    ],
)
def test_inconsistent_users_are_refused(access_ws, roles, tenant, patient, message) -> None:
    with pytest.raises(IdentityError, match=message):
        identity.add_user(access_ws, "x", roles, PASSWORD, tenant=tenant, patient=patient)
    assert identity.users(access_ws) == []


def test_short_passwords_bad_names_bad_scopes_and_duplicates_are_refused(access_ws) -> None:
    with pytest.raises(IdentityError, match="at least 12"):
        identity.add_user(access_ws, "ana", ["resident"], "short", patient="P-1")
    with pytest.raises(IdentityError, match="a name is"):
        identity.add_user(access_ws, "ana; drop", ["resident"], PASSWORD, patient="P-1")
    with pytest.raises(IdentityError, match="not a SMART scope"):
        identity.add_user(
            access_ws, "ana", ["resident"], PASSWORD, patient="P-1", scopes=["patient/*.everything"]
        )
    identity.add_user(access_ws, "ana", ["resident"], PASSWORD, patient="P-1")
    with pytest.raises(IdentityError, match="exists already"):
        identity.add_user(access_ws, "ana", ["resident"], PASSWORD, patient="P-2")


def test_disable_and_set_password(access_ws) -> None:
    identity.add_user(access_ws, "ana", ["resident"], PASSWORD, patient="P-1")
    identity.set_password(access_ws, "ana", "a new passphrase of length")
    row = identity.user_row(access_ws, "ana")
    assert verify_password(row.password_hash, "a new passphrase of length")
    identity.set_disabled(access_ws, "ana")
    assert identity.users(access_ws)[0].disabled
    with pytest.raises(IdentityError, match="no user or client"):
        identity.set_disabled(access_ws, "nobody")


def test_a_client_keeps_only_public_keys(access_ws, rsa_key: ClientKey, ec_key: ClientKey) -> None:
    account = identity.add_client(access_ws, "hosp-a-ehr", rsa_key.jwks, tenant="hosp-a")
    assert account.roles == ("institution",) and account.scopes == ("system/*.rs",)
    stored = identity.client_row(access_ws, "hosp-a-ehr").jwks["keys"][0]
    assert stored["alg"] == "RS384" and "d" not in stored
    identity.add_client(access_ws, "bulk", ec_key.jwks, tenant="hosp-a", scopes=["system/*.rs"])
    assert identity.client_row(access_ws, "bulk").jwks["keys"][0]["alg"] == "ES384"


def test_private_symmetric_weak_and_wrong_keys_are_refused(access_ws, rsa_key: ClientKey, tmp_path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    private = RSAAlgorithm.to_jwk(rsa_key.private, as_dict=True)
    with pytest.raises(IdentityError, match="private or symmetric"):
        identity.add_client(access_ws, "c1", {"keys": [private]}, tenant="hosp-a")
    with pytest.raises(IdentityError, match="private or symmetric"):
        identity.add_client(access_ws, "c1", {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, tenant="hosp-a")
    p256 = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True)
    with pytest.raises(IdentityError, match="P-384"):
        identity.add_client(access_ws, "c1", {"keys": [p256]}, tenant="hosp-a")
    with pytest.raises(IdentityError, match="says alg"):
        identity.add_client(
            access_ws, "c1", {"keys": [{**rsa_key.jwks["keys"][0], "alg": "HS384"}]}, tenant="hosp-a"
        )
    with pytest.raises(IdentityError, match="institution"):
        identity.add_client(access_ws, "c1", rsa_key.jwks, tenant=None)
    assert identity.clients(access_ws) == []


def test_key_files_pem_and_jwks(tmp_path, rsa_key: ClientKey) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = tmp_path / "public.pem"
    pem.write_bytes(
        rsa_key.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    from_pem = read_key_file(pem)["keys"][0]
    assert from_pem["alg"] == "RS384" and from_pem["kid"]  # a thumbprint kid when the file has none
    private = tmp_path / "private.pem"
    private.write_bytes(
        rsa_key.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(IdentityError, match="private key"):
        read_key_file(private)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(rsa_key.jwks))
    assert read_key_file(jwks)["keys"][0]["kid"] == "k1"
