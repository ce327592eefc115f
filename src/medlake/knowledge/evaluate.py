"""Ranking quality: nDCG@k with graded gains, as TREC's ``ndcg_cut`` computes it.

DCG sums ``gain / log2(rank + 1)`` over the first k results, with the gains as judged (0-3 in
LiveQA: 0 incorrect, 1 related, 2 incomplete, 3 excellent); the ideal DCG orders every judged
answer of the question by gain. Unjudged results gain nothing. A question none of whose
answers has a positive gain scores 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def dcg(gains: Sequence[float], k: int) -> float:
    return sum(g / math.log2(rank + 2) for rank, g in enumerate(gains[:k]))


def ndcg(ranking: Sequence[str], judged: Mapping[str, float], k: int = 10) -> float:
    ideal = dcg(sorted((g for g in judged.values() if g > 0), reverse=True), k)
    if ideal == 0:
        return 0.0
    return dcg([max(judged.get(doc, 0.0), 0.0) for doc in ranking], k) / ideal


def read_qrels(lines: Sequence[str]) -> dict[str, dict[str, float]]:
    """``qid doc gain`` lines (LiveQA's public qrels) as question -> document -> gain."""
    judged: dict[str, dict[str, float]] = {}
    for line in lines:
        parts = line.split()
        if len(parts) >= 3:
            judged.setdefault(parts[0], {})[parts[1]] = float(parts[-1])
    return judged
