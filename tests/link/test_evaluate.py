"""Pairwise metrics on labelings small enough to count by hand."""

from __future__ import annotations

from math import comb

import pandas as pd

from medlake.link.evaluate import pairwise_scores


def test_perfect_linkage_scores_every_true_pair() -> None:
    truth = pd.Series(["a", "a", "a", "b", "c"], index=list("12345"))
    assert pairwise_scores(truth.rename("predicted"), truth) == (comb(3, 2), comb(3, 2), comb(3, 2))


def test_a_wrong_merge_and_a_missed_link_are_both_counted() -> None:
    index = list("123456")
    truth = pd.Series(["a", "a", "a", "b", "b", "c"], index=index)
    # Record 3 split off from a; person b merged with c.
    predicted = pd.Series(["x", "x", "y", "z", "z", "z"], index=index)
    true_pairs, predicted_pairs, correct = pairwise_scores(predicted, truth)
    assert true_pairs == comb(3, 2) + comb(2, 2)
    assert predicted_pairs == comb(2, 2) + comb(3, 2)
    assert correct == 1 + 1  # (1,2) and (4,5)


def test_records_without_truth_are_their_own_person() -> None:
    index = list("1234")
    truth = pd.Series(["a", None, None, "a"], index=index)
    predicted = pd.Series(["x", "y", "y", "x"], index=index)
    assert pairwise_scores(predicted, truth) == (1, 2, 1)
