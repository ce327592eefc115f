"""The hub's router: heads, proofs a client can check with the RFC alone, and who may co-sign."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from medlake.ledger import open_ledger
from medlake.ledger.heads import Cosignature, SignedHead
from medlake.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from tests.ledger.helpers import Hub, fill


def _hashes(items: list[str]) -> list[bytes]:
    return [base64.b64decode(h) for h in items]


def test_an_empty_ledger_has_no_head(workspace) -> None:
    assert Hub(workspace.home).client.get("/ledger/head").status_code == 404


def test_proofs_served_over_http_verify_with_the_rfc_alone(workspace) -> None:
    with open_ledger(workspace) as ledger:
        fill(ledger, 11)
        entry_7 = ledger.entry(7)
    client = Hub(workspace.home).client
    head = SignedHead.from_json(client.get("/ledger/head").json()["head"])
    keys = client.get("/ledger/keys").json()["keys"]
    from medlake.ledger.keys import PublicKey

    assert head.verify(PublicKey.from_json(keys[0]).public_key)
    proof = client.get("/ledger/proof/inclusion", params={"index": 7}).json()
    assert base64.b64decode(proof["leaf_hash"]) == leaf_hash(entry_7)
    assert verify_inclusion(7, 11, leaf_hash(entry_7), _hashes(proof["inclusion_path"]), head.root_hash)
    old = SignedHead.from_json(client.get("/ledger/heads/4").json()["head"])
    consistency = client.get("/ledger/proof/consistency", params={"first": 4}).json()
    assert verify_consistency(4, 11, old.root_hash, head.root_hash, _hashes(consistency["consistency_path"]))
    assert client.get("/ledger/proof/inclusion", params={"index": 11}).status_code == 400
    assert client.get("/ledger/proof/consistency", params={"first": 0}).status_code == 422
    assert client.get("/ledger/heads/99").status_code == 404


def test_only_registered_witnesses_cosign_heads_the_ledger_issued(workspace, tmp_path) -> None:
    with open_ledger(workspace) as ledger:
        fill(ledger, 3)
    hub = Hub(workspace.home)
    head = SignedHead.from_json(hub.client.get("/ledger/head").json()["head"])
    stranger = Cosignature.sign(Ed25519PrivateKey.generate(), head, 1)
    assert hub.client.post("/ledger/cosign", json=stranger.to_json()).status_code == 403
    witness = hub.witness(tmp_path / "w")
    forged_head = SignedHead(head.timestamp, head.tree_size, b"\x00" * 32, head.key_id, head.signature)
    forged = Cosignature.sign(witness.key, forged_head, 2)
    assert hub.client.post("/ledger/cosign", json=forged.to_json()).status_code == 409
    tampered = Cosignature.sign(witness.key, head, 3).to_json() | {"cosigned_at": 4}
    assert hub.client.post("/ledger/cosign", json=tampered).status_code == 400
    assert hub.client.post("/ledger/cosign", json={"head": "nonsense"}).status_code == 400
    good = Cosignature.sign(witness.key, head, 5)
    assert hub.client.post("/ledger/cosign", json=good.to_json()).json()["witness"] == "hosp-north"
    published = hub.client.get("/ledger/head").json()["cosignatures"]
    assert [c["witness"] for c in published] == ["hosp-north"] and published[0]["head"]["tree_size"] == 3
