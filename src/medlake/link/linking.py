"""One call from a table of person records to persons: standardise, train, score, decide, cluster.

This is the standalone path (a CSV, a benchmark, the first build of the index). The pieces are
separate functions so that the incremental index can reuse a trained model and its own store of
existing persons instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from medlake.errors import NotFound
from medlake.link.backend import local_engine
from medlake.link.clustering import cluster_records
from medlake.link.decisions import Decision, decide
from medlake.link.model import LinkageModel
from medlake.link.records import PersonTable
from medlake.link.scores import PairScores
from medlake.link.settings import LinkSettings
from medlake.link.standardise import standardise


@dataclass(frozen=True)
class LinkResult:
    """Persons, the decided pairs behind them, and where the time went."""

    clusters: pd.DataFrame  # record_id, person_id
    pairs: pd.DataFrame  # scored candidate pairs with decision and reason
    scores: PairScores = field(repr=False)
    model: LinkageModel = field(repr=False)
    records: pa.Table = field(repr=False)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def review(self) -> pd.DataFrame:
        """Pairs waiting for a clerk, most probable first."""
        review = self.pairs[self.pairs["decision"] == Decision.REVIEW]
        return review.sort_values("match_probability", ascending=False)

    @property
    def persons(self) -> int:
        return int(self.clusters["person_id"].nunique())

    def person_of(self, record_id: str) -> str:
        match = self.clusters.loc[self.clusters["record_id"] == str(record_id), "person_id"]
        if match.empty:
            raise NotFound(f"no record {record_id!r} in this linkage")
        return str(match.iloc[0])

    def same_person(self, first: str, second: str) -> bool:
        return self.person_of(first) == self.person_of(second)

    def decision_for(self, first: str, second: str) -> str:
        """The pair's decision; pairs never scored (not blocked together) are non-matches."""
        left, right = sorted((str(first), str(second)))
        row = self.pairs[(self.pairs["record_id_l"] == left) & (self.pairs["record_id_r"] == right)]
        return str(row["decision"].iloc[0]) if len(row) else str(Decision.NON_MATCH)

    def summary(self) -> dict[str, object]:
        counts = self.pairs["decision"].value_counts()
        return {
            "records": self.records.num_rows,
            "persons": self.persons,
            "pairs_scored": len(self.pairs),
            "pairs_matched": int(counts.get(Decision.MATCH, 0)),
            "pairs_for_review": int(counts.get(Decision.REVIEW, 0)),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def link_records(
    records: PersonTable, settings: LinkSettings | None = None, model: LinkageModel | None = None
) -> LinkResult:
    """Link ``records`` into persons; trains a model on them unless one is given.

    A given model is used with ``settings`` when both are passed (thresholds may differ from
    the ones it was trained with).
    """
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    with local_engine(settings or (model.settings if model else LinkSettings())) as engine:
        table = standardise(records, engine)
    seconds["standardise"] = time.perf_counter() - clock
    if model is None:
        clock = time.perf_counter()
        model = LinkageModel.train(table, settings)
        seconds["train"] = time.perf_counter() - clock
    elif settings is not None:
        model = model.with_settings(settings)
    clock = time.perf_counter()
    scores = model.score(table)
    seconds["score"] = time.perf_counter() - clock
    clock = time.perf_counter()
    decided = decide(scores, model.settings)
    clustering = cluster_records(table, decided, model.settings)
    seconds["cluster"] = time.perf_counter() - clock
    return LinkResult(
        clusters=clustering.clusters,
        pairs=clustering.pairs,
        scores=PairScores(clustering.pairs, scores.labels),
        model=model,
        records=table,
        seconds=seconds,
    )
