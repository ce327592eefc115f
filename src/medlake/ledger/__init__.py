"""The ledger: an append-only, verifiable log of every share and access (RFC 9162 Merkle tree).

Appending, for the parts of the platform that record what they did::

    from medlake.ledger import Entry, open_ledger

    with open_ledger(workspace) as ledger:
        ledger.append("access.read", {"actor": "dr-a", "person": "G-17", "purpose": "treatment"})
        ledger.append_batch(Entry("link.merge", {...}) for ... in ...)

Modules: ``merkle`` (RFC 9162 hashing and proofs), ``entries`` (kinds, canonical JSON),
``heads`` (signed tree heads, co-signatures), ``keys`` (the signing key and its rotation),
``storage`` (journal and indexes), ``ledger`` (the facade), ``verify``, ``cosigning`` (the
hub's witness registry), ``witness`` (the independent witness), ``http`` (the hub's router).
See docs/ledger.md.
"""

from medlake.ledger.entries import KINDS, Entry, EntryError
from medlake.ledger.heads import Cosignature, SignedHead
from medlake.ledger.keys import SigningKeyError
from medlake.ledger.ledger import ConsistencyProof, InclusionProof, Ledger, open_ledger
from medlake.ledger.merkle import ProofError
from medlake.ledger.storage import LedgerDamaged

__all__ = [
    "KINDS",
    "ConsistencyProof",
    "Cosignature",
    "Entry",
    "EntryError",
    "InclusionProof",
    "Ledger",
    "LedgerDamaged",
    "ProofError",
    "SignedHead",
    "SigningKeyError",
    "open_ledger",
]
