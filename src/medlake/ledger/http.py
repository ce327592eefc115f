"""The hub's HTTP side of the ledger: heads with their co-signatures, proofs, and co-signing.

``router(home)`` is a FastAPI ``APIRouter`` for the platform's server to mount (it adds the
``/ledger`` prefix itself)::

    GET  /ledger/head                              latest signed head + each witness's co-signature
    GET  /ledger/heads/{size}                      the head the ledger issued for exactly that size
    GET  /ledger/keys                              public keys, oldest first, with endorsements
    GET  /ledger/proof/inclusion?index=I[&size=N]  RFC 9162 inclusion proof (leaf hash, path, head)
    GET  /ledger/proof/consistency?first=A[&second=B]
    POST /ledger/cosign                            a registered witness's co-signature

No entry content is served here: entries name residents, and who may read them is the
server's access control to decide. Leaf hashes are safe to publish (each entry carries a
random nonce). ``create_app()`` wraps the router in an app of its own for running the hub's
ledger alone (``uvicorn --factory medlake.ledger.http:create_app``, workspace from
``MEDLAKE_HOME``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, HTTPException, Query

from medlake.ledger.cosigning import CosignatureRejected, CosignatureStore
from medlake.ledger.heads import Cosignature
from medlake.ledger.keys import SigningKeyError
from medlake.ledger.ledger import Ledger
from medlake.ledger.merkle import ProofError


def router(home: Path | str) -> APIRouter:
    ledger = Ledger(Path(home))
    cosignatures = CosignatureStore(ledger)
    api = APIRouter(prefix="/ledger", tags=["ledger"])

    @api.get("/head")
    def latest_head() -> dict[str, Any]:
        head = ledger.head()
        if head is None:
            raise HTTPException(404, "the ledger is empty: no head has been signed yet")
        return {
            "head": head.to_json(),
            "cosignatures": [{"witness": w.name} | c.to_json() for w, c in cosignatures.latest()],
        }

    @api.get("/heads/{size}")
    def head_of_size(size: int) -> dict[str, Any]:
        try:
            return {"head": ledger.head_of_size(size).to_json()}
        except ProofError as exc:
            raise HTTPException(404, str(exc)) from None

    @api.get("/keys")
    def keys() -> dict[str, Any]:
        try:
            return {"keys": [k.to_json() for k in ledger.keyring.public_keys()]}
        except SigningKeyError as exc:
            raise HTTPException(500, str(exc)) from None

    @api.get("/proof/inclusion")
    def inclusion(
        index: Annotated[int, Query(ge=0)], size: Annotated[int | None, Query(ge=1)] = None
    ) -> dict[str, Any]:
        try:
            return ledger.inclusion_proof(index, size).to_json()
        except ProofError as exc:
            raise HTTPException(400, str(exc)) from None

    @api.get("/proof/consistency")
    def consistency(
        first: Annotated[int, Query(ge=1)], second: Annotated[int | None, Query(ge=1)] = None
    ) -> dict[str, Any]:
        try:
            return ledger.consistency_proof(first, second).to_json()
        except ProofError as exc:
            raise HTTPException(400, str(exc)) from None

    @api.post("/cosign")
    def cosign(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        try:
            cosignature = Cosignature.from_json(body)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        try:
            witness = cosignatures.accept(cosignature)
        except CosignatureRejected as exc:
            raise HTTPException(exc.status, str(exc)) from None
        return {"accepted": True, "witness": witness.name, "tree_size": cosignature.head.tree_size}

    return api


def create_app(home: Path | str | None = None) -> FastAPI:
    """A FastAPI app serving only the ledger router (the workspace from ``home`` or ``MEDLAKE_HOME``)."""
    from medlake.config import resolve_home

    app = FastAPI(title="medlake ledger", docs_url=None, redoc_url=None)
    app.include_router(router(resolve_home(home)))
    return app
