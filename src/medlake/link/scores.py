"""Scored record pairs and the evidence behind each score, in a form a reviewer can read.

A clerk deciding whether two records are one person needs more than "0.83": they need to see
that the names agree as nicknames, the birth dates differ by a swapped day and month, and the
addresses differ. Splink leaves per comparison a level (gamma_<name>) and a match weight
(mw_<name>, plus mw_tf_adj_<name> for frequency adjustments); this module turns those into
labelled evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from medlake.link.comparisons import COMPARISON_FIELDS


@dataclass(frozen=True)
class Evidence:
    """One comparison's verdict on a pair: which level it fell into and how much that weighed."""

    comparison: str
    level: str
    match_weight: float
    left: dict[str, Any]
    right: dict[str, Any]


def level_labels(splink_model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """comparison -> {gamma value -> level label}, numbered the way Splink numbers them.

    Splink gives the null level -1 and counts the other levels down from n-1 to 0 (the else level).
    """
    labels: dict[str, dict[int, str]] = {}
    for spec in splink_model["comparisons"]:
        levels = spec["comparison_levels"]
        counter = sum(1 for level in levels if not level.get("is_null_level")) - 1
        mapping: dict[int, str] = {}
        for level in levels:
            if level.get("is_null_level"):
                mapping[-1] = level.get("label_for_charts") or "missing"
            else:
                mapping[counter] = level.get("label_for_charts") or level.get("sql_condition", "")
                counter -= 1
        labels[spec["output_column_name"]] = mapping
    return labels


@dataclass(frozen=True)
class PairScores:
    """Candidate pairs with their match probability, match weight and per-comparison evidence.

    ``pairs`` has record_id_l/record_id_r, match_probability, match_weight, gamma_<c> and mw_<c>
    per comparison, and the compared values as <field>_l/<field>_r.
    """

    pairs: pd.DataFrame
    labels: dict[str, dict[int, str]]

    @property
    def comparisons(self) -> list[str]:
        return list(self.labels)

    def evidence(self, row: int | pd.Series) -> list[Evidence]:
        """The evidence for one pair (a row label of ``pairs`` or the row itself)."""
        record = self.pairs.loc[[row]] if not isinstance(row, pd.Series) else row.to_frame().T
        return self.evidence_of(record)[0]

    def evidence_of(self, rows: pd.DataFrame) -> list[list[Evidence]]:
        """The evidence for many pairs at once (rows of ``pairs``), column by column.

        A review queue holds tens of thousands of pairs at a million records; reading them one
        row at a time costs more than scoring them.
        """
        out: list[list[Evidence]] = [[] for _ in range(len(rows))]
        for comparison, labels in self.labels.items():
            gammas = rows[f"gamma_{comparison}"].astype(int).tolist()
            weight = pd.Series(0.0, index=rows.index)
            for column in (f"mw_{comparison}", f"mw_tf_adj_{comparison}"):
                if column in rows:
                    weight = weight + pd.to_numeric(rows[column], errors="coerce").fillna(0.0)
            fields = COMPARISON_FIELDS.get(comparison, (comparison,))
            values = {
                (side, f): [plain_value(v) for v in rows[f"{f}_{side}"].tolist()]
                if f"{f}_{side}" in rows
                else [None] * len(rows)
                for side in ("l", "r")
                for f in fields
            }
            for k, (gamma, w) in enumerate(zip(gammas, weight.round(3).tolist(), strict=True)):
                out[k].append(
                    Evidence(
                        comparison=comparison,
                        level=labels.get(gamma, f"level {gamma}"),
                        match_weight=w,
                        left={f: values[("l", f)][k] for f in fields},
                        right={f: values[("r", f)][k] for f in fields},
                    )
                )
        return out

    def level_of(self, comparison: str) -> pd.Series:
        """The level label of every pair for one comparison (vectorised, for rules and reports)."""
        return self.pairs[f"gamma_{comparison}"].map(self.labels[comparison])


def plain_value(value: Any) -> Any:
    """None for missing values (None, NaN, pd.NA), the value otherwise: evidence must be JSON-ready."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value
