"""FEBRL4 accuracy: dedupe across the concatenation of both files, pairwise F1 >= 0.99.

FEBRL's soc_sec_id is corrupted in about 9 % of its true pairs, so it is linked as an untrusted
identifier (ordinary evidence); as a trusted id it would send those pairs to review.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import medlake.cli as medlake_cli
from medlake.link import LinkSettings, evaluate_frame
from tests.link.conftest import FEBRL_FIELD_MAP

UNTRUSTED = LinkSettings(identifier_is_trusted=False)


@pytest.fixture(scope="module")
def febrl_linkage(febrl4: pd.DataFrame):
    return evaluate_frame(febrl4, "person", FEBRL_FIELD_MAP, UNTRUSTED, id_column="rec_id")


def test_febrl4_pairwise_f1_is_at_least_099(febrl_linkage) -> None:
    result, linkage = febrl_linkage
    assert result.pairs_true == 5000
    assert result.f1 >= 0.99, result
    assert result.precision >= 0.99 and result.recall >= 0.98, result
    # Nothing in FEBRL4 is a duplicate within one file, so no cluster may exceed two records.
    assert linkage.clusters.groupby("person_id").size().max() <= 2


def test_febrl4_prior_is_estimated_close_to_the_truth(febrl_linkage, febrl4: pd.DataFrame) -> None:
    _, linkage = febrl_linkage
    n = len(febrl4)
    true_prior = 5000 / (n * (n - 1) / 2)
    assert true_prior / 2 < linkage.model.probability_two_random_records_match < true_prior * 2


def test_review_pairs_carry_readable_evidence(febrl_linkage) -> None:
    _, linkage = febrl_linkage
    review = linkage.review
    assert len(review) > 0
    evidence = linkage.scores.evidence(review.index[0])
    names = [e.comparison for e in evidence]
    assert names[:3] == ["given", "family", "birth_date"]
    assert all(isinstance(e.level, str) and e.level for e in evidence)
    weights = sum(e.match_weight for e in evidence)
    row = review.iloc[0]
    # The evidence adds up to the pair's match weight less the prior's (negative) weight.
    assert weights > row["match_weight"]


@pytest.mark.slow
def test_febrl4_through_a_csv_and_the_cli(febrl4: pd.DataFrame, tmp_path: Path) -> None:
    csv = tmp_path / "febrl4.csv"
    febrl4.to_csv(csv, index=False)
    mapping = ",".join(f"{field}={column}" for field, column in FEBRL_FIELD_MAP.items())
    runner = CliRunner()
    outcome = runner.invoke(
        medlake_cli.app,
        [
            "link",
            "evaluate",
            str(csv),
            "--truth",
            "person",
            "--map",
            mapping,
            "--id",
            "rec_id",
            "--untrusted-identifier",
            "--json",
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    report = json.loads(outcome.stdout)
    assert report["f1"] >= 0.99
    assert report["records"] == len(febrl4)
    assert report["pairs_true"] == 5000
