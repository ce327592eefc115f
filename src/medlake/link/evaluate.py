"""Pairwise precision, recall and F1 of a linkage against a truth column.

Pairwise metrics are the field's standard for deduplication: every pair of records that the
truth puts in one person is a true pair, every pair that the linkage puts in one person is a
predicted pair. Counting pairs (not clusters) means one wrong merge of two big clusters costs a
lot, which is exactly the harm it does in a patient index.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from medlake.link.linking import LinkResult, link_records
from medlake.link.records import ID_COLUMN, PERSON_FIELDS, SOURCE_COLUMN, RecordError, apply_field_map
from medlake.link.settings import LinkSettings


@dataclass(frozen=True)
class EvaluationResult:
    precision: float
    recall: float
    f1: float
    pairs_true: int
    pairs_predicted: int
    pairs_correct: int
    records: int
    persons_true: int
    persons_predicted: int
    pairs_for_review: int
    seconds: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _pairs(group_sizes: pd.Series) -> int:
    sizes = group_sizes.to_numpy(dtype="int64")
    return int((sizes * (sizes - 1) // 2).sum())


def truth_labels(record_ids: pd.Index, truth: pd.Series) -> pd.Series:
    """Truth label per record; a record without one is a person of its own."""
    labels = truth.reindex(record_ids).astype(object)
    missing = labels.isna().to_numpy()
    labels[missing] = ["\0" + str(r) for r in record_ids[missing]]
    return labels.astype(str)


def pairwise_scores(predicted: pd.Series, truth: pd.Series) -> tuple[int, int, int]:
    """(true pairs, predicted pairs, correct pairs) for two labelings of the same records.

    Both series are indexed by record id; see ``truth_labels`` for records without truth.
    """
    labels = truth_labels(predicted.index, truth)
    frame = pd.DataFrame({"p": predicted.astype(str).to_numpy(), "t": labels.to_numpy()})
    true_pairs = _pairs(frame.groupby("t").size())
    predicted_pairs = _pairs(frame.groupby("p").size())
    correct = _pairs(frame.groupby(["t", "p"]).size())
    return true_pairs, predicted_pairs, correct


def evaluate_linkage(result: LinkResult, truth: pd.Series, seconds: float = 0.0) -> EvaluationResult:
    """Score a finished linkage; ``truth`` is indexed by record_id."""
    predicted = result.clusters.set_index(ID_COLUMN)["person_id"]
    truth = truth.copy()
    truth.index = truth.index.astype(str)
    true_pairs, predicted_pairs, correct = pairwise_scores(predicted, truth)
    precision = correct / predicted_pairs if predicted_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return EvaluationResult(
        precision=round(precision, 6),
        recall=round(recall, 6),
        f1=round(f1, 6),
        pairs_true=true_pairs,
        pairs_predicted=predicted_pairs,
        pairs_correct=correct,
        records=len(predicted),
        persons_true=int(truth_labels(predicted.index, truth).nunique()),
        persons_predicted=int(predicted.nunique()),
        pairs_for_review=len(result.review),
        seconds=round(seconds, 3),
    )


def evaluate_frame(
    frame: pd.DataFrame,
    truth_column: str,
    field_map: Mapping[str, str] | None = None,
    settings: LinkSettings | None = None,
    id_column: str | None = None,
) -> tuple[EvaluationResult, LinkResult]:
    """Link a table of person records and score the result against ``truth_column``."""
    if truth_column not in frame.columns:
        raise RecordError(f"truth column {truth_column!r} not found; the table has {list(frame.columns)}")
    mapping = (
        dict(field_map)
        if field_map
        else {f: f for f in (*PERSON_FIELDS, SOURCE_COLUMN) if f in frame.columns}
    )
    if not set(mapping) & set(PERSON_FIELDS):
        raise RecordError(
            f"no person field found: map CSV columns to fields ({', '.join(PERSON_FIELDS)}) with field=column"
        )
    if id_column is None and ID_COLUMN in frame.columns and ID_COLUMN not in mapping.values():
        id_column = ID_COLUMN
    records = apply_field_map(frame, mapping, id_column)
    truth = pd.Series(frame[truth_column].to_numpy(), index=records[ID_COLUMN].astype(str).to_numpy())
    clock = time.perf_counter()
    result = link_records(records, settings)
    return evaluate_linkage(result, truth, time.perf_counter() - clock), result


def evaluate_csv(
    path: str | Path,
    truth_column: str,
    field_map: Mapping[str, str] | None = None,
    settings: LinkSettings | None = None,
    id_column: str | None = None,
) -> EvaluationResult:
    """Link the rows of a CSV of person records and compute pairwise precision/recall/F1.

    ``field_map`` maps person fields to CSV columns ("address": "number+street" joins columns);
    without it, columns named like the fields are used. Every column is read as text so that
    ids and dates keep their leading zeros.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path} is not a readable CSV: {str(exc).strip()}") from None
    result, _ = evaluate_frame(frame, truth_column, field_map, settings, id_column)
    return result
