"""Records to persons: the pairs decided ``match`` become links, grouped by the one grouping algorithm.

Pairwise decisions are not yet persons: A~B and B~C put A, B and C in one person even when A and
C were never compared. A plain transitive closure (connected components) could however merge two
records with different trusted identifiers through a third record that has none (A id=1 ~ B no
id ~ C id=2), which the identifier rule forbids. :func:`medlake.link.grouping.group_records`
applies the links strongest first (shared verified identifiers, then model probability) and
refuses a link that would join two identifiers; the refused pairs go to review. It is the
function the master patient index runs (``medlake link run``), so that ``link_records`` (and
with it ``medlake link evaluate``, the FEBRL benchmark and the edge-case tests) measures what
production does.

Only verified identifiers (trusted, and passing ``LinkSettings.identifier_check``) count here. An
id failing its check digit is a keying error, not a second identity: a person's records may hold
their real id and a mistyped copy of it, and splitting them would undo what the model linked.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from medlake.link.decisions import Decision, Reason
from medlake.link.grouping import Link, Strength, group_records
from medlake.link.records import ID_COLUMN
from medlake.link.settings import LinkSettings
from medlake.link.standardise import verified_identifiers

#: In a scheme that carries the check digit nearly every id passes it (typos are rare); in one
#: that does not, about one in ten passes by chance. Below this share the setting is suspect.
PLAUSIBLE_PASS_SHARE = 0.5
#: Fewer ids than this say nothing about the scheme.
_MIN_IDS_FOR_WARNING = 20


@dataclass(frozen=True)
class Clustering:
    """record_id -> person_id (the smallest record_id of the person), and the final pair decisions."""

    clusters: pd.DataFrame
    pairs: pd.DataFrame


def cluster_records(records: pa.Table, decided_pairs: pd.DataFrame, settings: LinkSettings) -> Clustering:
    """Group ``records`` (standardised) into persons by the pairs whose decision is ``match``.

    A pair whose link the grouping refused (it would join two verified identifiers) is returned
    with decision ``review`` and reason ``cluster_conflict``.
    """
    ids = records.column(ID_COLUMN).cast(pa.string()).to_pylist()
    grouping = group_records(ids, pair_links(decided_pairs), verified_identifier_map(records, settings), {})
    pairs = decided_pairs
    if grouping.refused:
        refused = {f"{link.left}\x1f{link.right}" for link in grouping.refused}
        key = pairs["record_id_l"].astype(str) + "\x1f" + pairs["record_id_r"].astype(str)
        mask = key.isin(refused)
        pairs = pairs.copy()
        pairs.loc[mask, "decision"] = str(Decision.REVIEW)
        pairs.loc[mask, "reason"] = str(Reason.CLUSTER_CONFLICT)
    clusters = pd.DataFrame({ID_COLUMN: ids, "person_id": [grouping.group_of[record] for record in ids]})
    return Clustering(clusters.sort_values(ID_COLUMN, ignore_index=True), pairs)


def pair_links(pairs: pd.DataFrame) -> list[Link]:
    """The links of the pairs decided ``match``: a shared verified identifier is a stronger link
    than any model probability (it is applied first when links conflict)."""
    if pairs.empty:
        return []
    matched = pairs[pairs["decision"] == Decision.MATCH]
    return [
        Link(
            str(left),
            str(right),
            Strength.IDENTIFIER if reason == Reason.SHARED_IDENTIFIER else Strength.MODEL,
            float(probability),
        )
        for left, right, probability, reason in zip(
            matched["record_id_l"],
            matched["record_id_r"],
            matched["match_probability"],
            matched["reason"],
            strict=True,
        )
    ]


def verified_identifier_map(
    table: pa.Table | None, settings: LinkSettings, scope: set[str] | None = None
) -> dict[str, str]:
    """record -> national id, for ids the settings trust and that pass the configured check digit.

    Warns (once per call) when most ids of ``table`` fail the check, whatever the ``scope``
    (the records of it to return; all when None or empty).
    """
    if table is None or not settings.identifier_is_trusted or "identifier" not in table.column_names:
        return {}
    _warn_if_few_pass(table, verified_identifiers(table, settings.identifier_check), settings)
    if scope and len(scope) < table.num_rows:
        table = table.filter(
            pc.is_in(
                table.column(ID_COLUMN).cast(pa.string()), value_set=pa.array(sorted(scope), pa.string())
            )
        )
    verified = verified_identifiers(table, settings.identifier_check)
    ids = table.column("identifier").to_pandas()
    records = table.column(ID_COLUMN).cast(pa.string()).to_pandas()
    keep = verified & ids.notna().to_numpy()
    return dict(zip(records[keep], ids[keep].astype(str), strict=True))


def _warn_if_few_pass(records: pa.Table, verified: np.ndarray, settings: LinkSettings) -> None:
    """Say so when most ids fail the check: the scheme probably has no such check digit.

    Linking still works (unverified ids are ordinary evidence), but the identifier rules then
    silently cover only the ids that pass by chance, which is rarely what the user meant.
    """
    present = records.num_rows - records.column("identifier").null_count
    if settings.identifier_check == "none" or present < _MIN_IDS_FOR_WARNING:
        return
    share = float(verified.sum()) / present
    if share < PLAUSIBLE_PASS_SHARE:
        warnings.warn(
            f"only {share:.0%} of {present:,} identifiers pass the {settings.identifier_check} check "
            "digit; the others are not trusted. If these ids carry no such check digit, set "
            "identifier_check='none' (clean ids) or identifier_is_trusted=False (noisy ids).",
            UserWarning,
            stacklevel=3,
        )
