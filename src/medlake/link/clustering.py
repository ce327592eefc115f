"""Records to persons: connected components over the auto-link decisions.

Pairwise decisions are not yet persons: A~B and B~C put A, B and C in one person even when
A and C were never compared. Splink's connected components does that at scale. The transitive
step can however merge two records with different trusted identifiers through a third record
that has none (A id=1 ~ B no id ~ C id=2), which the identifier rule forbids. Such components are
rebuilt greedily, strongest link first, refusing any link that would join two identifiers; the
refused links go to review.

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
from splink.clustering import cluster_pairwise_predictions_at_threshold

from medlake.link.backend import database_api, quiet_splink
from medlake.link.decisions import Decision, Reason
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
    """Cluster ``records`` (standardised) by the pairs whose decision is ``match``."""
    ids = records.column(ID_COLUMN).cast(pa.string())
    edges = decided_pairs.loc[decided_pairs["decision"] == Decision.MATCH, ["record_id_l", "record_id_r"]]
    components = _connected_components(ids, edges, settings)
    pairs = decided_pairs
    if settings.identifier_is_trusted and "identifier" in records.column_names:
        verified = verified_identifiers(records, settings.identifier_check)
        _warn_if_few_pass(records, verified, settings)
        components, pairs = _split_identifier_conflicts(records, components, decided_pairs, verified)
    person = components.groupby("cluster_id")[ID_COLUMN].transform("min")
    clusters = pd.DataFrame({ID_COLUMN: components[ID_COLUMN], "person_id": person})
    return Clustering(clusters.sort_values(ID_COLUMN, ignore_index=True), pairs)


def _connected_components(ids: pa.ChunkedArray, edges: pd.DataFrame, settings: LinkSettings) -> pd.DataFrame:
    nodes = pa.table({ID_COLUMN: ids})
    if edges.empty:
        return pd.DataFrame({ID_COLUMN: ids.to_pandas(), "cluster_id": ids.to_pandas()})
    edge_table = pa.table(
        {
            "record_id_l": pa.array(edges["record_id_l"].astype(str).to_numpy(), pa.string()),
            "record_id_r": pa.array(edges["record_id_r"].astype(str).to_numpy(), pa.string()),
        }
    )
    with database_api(settings) as db_api, quiet_splink():
        result = cluster_pairwise_predictions_at_threshold(
            nodes, edge_table, db_api=db_api, node_id_column_name=ID_COLUMN
        ).as_pandas_dataframe()
    return result[[ID_COLUMN, "cluster_id"]].astype(str)


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


def _split_identifier_conflicts(
    records: pa.Table, components: pd.DataFrame, pairs: pd.DataFrame, verified: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    # Unverified ids are blanked: they neither conflict with nor vouch for anything.
    identifiers = pd.Series(
        records.column("identifier").to_pandas().to_numpy(dtype=object),
        index=records.column(ID_COLUMN).cast(pa.string()).to_pandas(),
    ).where(verified, None)
    with_id = components.assign(identifier=components[ID_COLUMN].map(identifiers))
    distinct = with_id.dropna(subset=["identifier"]).groupby("cluster_id")["identifier"].nunique()
    bad_clusters = set(distinct[distinct > 1].index)
    if not bad_clusters:
        return components, pairs
    pairs = pairs.copy()
    components = components.set_index(ID_COLUMN)
    cluster_of = components["cluster_id"]
    matched = pairs["decision"] == Decision.MATCH
    in_bad = pairs["record_id_l"].map(cluster_of).isin(bad_clusters)
    candidates = pairs[matched & in_bad].sort_values("match_probability", ascending=False, kind="stable")
    parent: dict[str, str] = {}
    ids_of: dict[str, set[str]] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def identifier_set(root: str) -> set[str]:
        return ids_of.setdefault(root, {identifiers[root]} if pd.notna(identifiers[root]) else set())

    # Shared-identifier links first (they are certain), then by decreasing model probability.
    order = candidates.assign(_certain=candidates["reason"] == Reason.SHARED_IDENTIFIER).sort_values(
        ["_certain", "match_probability"], ascending=[False, False], kind="stable"
    )
    refused = []
    for index, left, right in zip(order.index, order["record_id_l"], order["record_id_r"], strict=True):
        a, b = find(left), find(right)
        if a == b:
            continue
        ids_a, ids_b = identifier_set(a), identifier_set(b)
        if ids_a and ids_b and ids_a != ids_b:
            refused.append(index)
            continue
        parent[b] = a
        ids_of[a] = ids_a | ids_b
    pairs.loc[refused, "decision"] = str(Decision.REVIEW)
    pairs.loc[refused, "reason"] = str(Reason.CLUSTER_CONFLICT)
    for node in components.index[components["cluster_id"].isin(bad_clusters)]:
        components.loc[node, "cluster_id"] = f"split:{find(node)}"
    return components.reset_index(), pairs
