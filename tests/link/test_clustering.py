"""Clustering never lets a person hold two trusted identifiers, even through a third record.

The ids are valid Luhn numbers (built with the synthetic region's generator), because only
verified ids constrain clusters under the default ``identifier_check``.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from medlake.link import Decision, LinkSettings, Reason
from medlake.link.clustering import cluster_records
from medlake.synth.identifiers import luhn_check_digit

ID1 = "130000001" + luhn_check_digit("130000001")
ID2 = "130000002" + luhn_check_digit("130000002")


def _records(ids: dict[str, str | None]) -> pa.Table:
    return pa.table({"record_id": list(ids), "identifier": list(ids.values())})


def _pair(left: str, right: str, probability: float, reason: Reason = Reason.MODEL) -> dict:
    return {
        "record_id_l": left,
        "record_id_r": right,
        "match_probability": probability,
        "decision": str(Decision.MATCH),
        "reason": str(reason),
    }


def test_connected_components_join_chains() -> None:
    records = _records({"a": None, "b": None, "c": None, "d": None})
    pairs = pd.DataFrame([_pair("a", "b", 0.99), _pair("b", "c", 0.98)])
    result = cluster_records(records, pairs, LinkSettings())
    person = result.clusters.set_index("record_id")["person_id"]
    assert person["a"] == person["b"] == person["c"] == "a"
    assert person["d"] == "d"


def test_a_chain_between_two_identifiers_is_cut_at_its_weakest_link() -> None:
    records = _records({"a": ID1, "b": None, "c": ID2, "d": None})
    pairs = pd.DataFrame([_pair("a", "b", 0.999), _pair("b", "c", 0.97), _pair("c", "d", 0.99)])
    result = cluster_records(records, pairs, LinkSettings())
    person = result.clusters.set_index("record_id")["person_id"]
    assert person["a"] == person["b"]
    assert person["c"] == person["d"]
    assert person["a"] != person["c"]
    cut = result.pairs[(result.pairs["record_id_l"] == "b") & (result.pairs["record_id_r"] == "c")].iloc[0]
    assert cut["decision"] == Decision.REVIEW
    assert cut["reason"] == Reason.CLUSTER_CONFLICT


def test_shared_identifier_links_win_over_stronger_model_links() -> None:
    records = _records({"a": ID1, "b": ID1, "c": ID2})
    pairs = pd.DataFrame(
        [_pair("a", "b", 0.2, Reason.SHARED_IDENTIFIER), _pair("b", "c", 0.999), _pair("a", "c", 0.999)]
    )
    result = cluster_records(records, pairs, LinkSettings())
    person = result.clusters.set_index("record_id")["person_id"]
    assert person["a"] == person["b"] != person["c"]


def test_untrusted_identifiers_do_not_constrain_clusters() -> None:
    records = _records({"a": ID1, "b": ID2})
    pairs = pd.DataFrame([_pair("a", "b", 0.99)])
    result = cluster_records(records, pairs, LinkSettings(identifier_is_trusted=False))
    assert result.clusters["person_id"].nunique() == 1


def test_without_a_check_every_identifier_constrains_clusters() -> None:
    records = _records({"a": "ID-1", "b": None, "c": "ID-2"})
    pairs = pd.DataFrame([_pair("a", "b", 0.99), _pair("b", "c", 0.98)])
    unchecked = cluster_records(records, pairs, LinkSettings(identifier_check="none"))
    assert unchecked.clusters["person_id"].nunique() == 2
    # Under the default Luhn check these ids are unverified, so they constrain nothing.
    checked = cluster_records(records, pairs, LinkSettings())
    assert checked.clusters["person_id"].nunique() == 1
