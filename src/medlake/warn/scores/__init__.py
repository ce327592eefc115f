"""The registry of clinical scores: each a pure, vectorised function with unit-checked inputs and a citation.

``SCORES`` maps a name to its ``Score``; ``score_frame(name, frame)`` appends the outputs, ``status``
and ``reason`` to a DataFrame of inputs (one row per person or reading), and ``medlake score``
does the same for a CSV file.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from medlake.warn.scores import cha2ds2_vasc, findrisc, news2, pce, prevent, qrisk3, qsofa
from medlake.warn.scores.registry import Computed, Input, Output, Score, ScoreError, evaluate
from medlake.warn.scores.registry import score_frame as _score_frame

SCORES: dict[str, Score] = {
    module.SCORE.name: module.SCORE for module in (news2, qsofa, pce, prevent, qrisk3, findrisc, cha2ds2_vasc)
}


def get_score(name: str) -> Score:
    """The score called ``name``, or a ScoreError listing the known ones."""
    try:
        return SCORES[name]
    except KeyError:
        raise ScoreError(f"no score {name!r}; known: {', '.join(SCORES)}") from None


def score_frame(name: str, frame: pd.DataFrame, units: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``frame`` with score ``name``'s outputs, ``status`` and ``reason`` appended."""
    return _score_frame(get_score(name), frame, units)


__all__ = [
    "SCORES",
    "Computed",
    "Input",
    "Output",
    "Score",
    "ScoreError",
    "evaluate",
    "get_score",
    "score_frame",
]
