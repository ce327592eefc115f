"""From match probabilities to decisions: link, send to a clerk, or keep apart.

The model's probability is the default, but facts it cannot weigh correctly override it.
Fellegi-Sunter adds up evidence as if fields were independent; within a household they are not:
family name, address and phone agree together, so a mother and her son "agree" on three strong
fields and the model grows confident. Given name and birth date are what belong to the person,
so disagreement on them is treated as a veto rather than as one more term in the sum:

1. Same verified national identifier: a match, whatever the model says.
2. Different given name AND different birth date, or different given name AND different sex
   (twins): another person, kept apart, unless an identifier (even an unverified one) agrees.
3. Different verified identifiers: never merged automatically; a clerk looks if the model is
   at least unsure, unless the given name or birth date disagrees as well (kept apart).
4. Different given name OR different birth date: not merged automatically (review) unless an
   identifier agrees; this catches twins of one sex and Junior/Senior pairs.
5. Otherwise the match and review thresholds on the model's probability.

"Different" means the comparison fell in its last level: no typo, swap, nickname, phonetic or
initial explains the disagreement.

"Verified" means trusted (``LinkSettings.identifier_is_trusted``) and passing the scheme's check
digit (``LinkSettings.identifier_check``); rules 1 and 3 need BOTH ids verified. A check digit
exists to expose keying errors: an id that fails it is not the id that was issued, so it can
neither prove identity (rule 1) nor, when it differs from the person's real id, prove that two
people are involved (rule 3). Treating such an id as trusted sent every clerk's one-digit typo to
review. Unverified ids remain evidence through the model's identifier comparison, whose "one
typo" level is exactly what a mistyped id of the same person looks like.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

from medlake.link.comparisons import BIRTH_DATE, BIRTH_DATE_DIFFERENT_LABEL, GIVEN, GIVEN_DIFFERENT_LABEL
from medlake.link.scores import PairScores
from medlake.link.settings import LinkSettings
from medlake.link.standardise import passes_check


class Decision(StrEnum):
    MATCH = "match"
    REVIEW = "review"
    NON_MATCH = "non_match"


class Reason(StrEnum):
    SHARED_IDENTIFIER = "shared identifier"
    MODEL = "match probability"
    UNCERTAIN = "match probability between review and match thresholds"
    BELOW_REVIEW = "match probability below review threshold"
    IDENTIFIER_CONFLICT = "different trusted identifiers"
    GIVEN_NAME_CONFLICT = "different given names"
    BIRTH_DATE_CONFLICT = "different birth dates"
    HOUSEHOLD_PATTERN = "different given name and birth date: another member of the household"
    TWIN_PATTERN = "different given name and sex: twins or siblings"
    DISTINCT_PERSONS = "different trusted identifiers and a different given name or birth date"
    CLUSTER_CONFLICT = "would merge records with different trusted identifiers"


def decide(scores: PairScores, settings: LinkSettings) -> pd.DataFrame:
    """``scores.pairs`` with ``decision`` and ``reason`` columns (a new frame)."""
    pairs = scores.pairs.copy()
    probability = pairs["match_probability"].to_numpy(dtype=float)
    above_match = probability >= settings.match_threshold
    above_review = probability >= settings.review_threshold

    same_id = _both_present(pairs, "identifier") & _equal(pairs, "identifier")
    both_verified = _both_verified(pairs, settings)
    same_verified_id = same_id & both_verified
    different_verified_id = _both_present(pairs, "identifier") & ~_equal(pairs, "identifier") & both_verified
    different_given = _level_is(scores, GIVEN, GIVEN_DIFFERENT_LABEL) & ~same_id
    different_birth = _level_is(scores, BIRTH_DATE, BIRTH_DATE_DIFFERENT_LABEL) & ~same_id
    different_sex = _both_present(pairs, "sex") & ~_equal(pairs, "sex")

    decision = np.where(
        above_match, Decision.MATCH, np.where(above_review, Decision.REVIEW, Decision.NON_MATCH)
    )
    reason = np.where(
        above_match, Reason.MODEL, np.where(above_review, Reason.UNCERTAIN, Reason.BELOW_REVIEW)
    )
    decision, reason = decision.astype(object), reason.astype(object)

    # Applied from the weakest rule to the strongest, so that the strongest wins (see module doc).
    soft_conflict = (different_given | different_birth) & above_match
    decision[soft_conflict] = Decision.REVIEW
    reason[soft_conflict] = np.where(
        different_given[soft_conflict], Reason.GIVEN_NAME_CONFLICT, Reason.BIRTH_DATE_CONFLICT
    )
    if settings.identifier_is_trusted:
        conflict = different_verified_id & above_review
        decision[conflict] = Decision.REVIEW
        reason[conflict] = Reason.IDENTIFIER_CONFLICT
    household = different_given & different_birth
    twins = different_given & different_sex & ~household
    decision[household | twins] = Decision.NON_MATCH
    reason[household] = Reason.HOUSEHOLD_PATTERN
    reason[twins] = Reason.TWIN_PATTERN
    if settings.identifier_is_trusted:
        # Two verified ids plus a personal field that disagrees: nothing left for a clerk to weigh.
        distinct = different_verified_id & (different_given | different_birth) & ~household & ~twins
        decision[distinct] = Decision.NON_MATCH
        reason[distinct] = Reason.DISTINCT_PERSONS
    if settings.identifier_is_trusted:
        decision[same_verified_id] = Decision.MATCH
        reason[same_verified_id] = Reason.SHARED_IDENTIFIER

    pairs["decision"] = pd.Series(decision, index=pairs.index).astype(str)
    pairs["reason"] = pd.Series(reason, index=pairs.index).astype(str)
    return pairs


def _both_verified(pairs: pd.DataFrame, settings: LinkSettings) -> np.ndarray:
    """Both ids present, trusted and passing the check digit: the pairs the identifier rules govern.

    Computed from the compared values, because Splink keeps only the columns its comparisons read.
    """
    if not settings.identifier_is_trusted or "identifier_l" not in pairs or "identifier_r" not in pairs:
        return np.zeros(len(pairs), dtype=bool)
    check = settings.identifier_check
    return passes_check(pairs["identifier_l"], check) & passes_check(pairs["identifier_r"], check)


def _both_present(pairs: pd.DataFrame, field: str) -> np.ndarray:
    left, right = f"{field}_l", f"{field}_r"
    if left not in pairs or right not in pairs:
        return np.zeros(len(pairs), dtype=bool)
    return (pairs[left].notna() & pairs[right].notna()).to_numpy()


def _equal(pairs: pd.DataFrame, field: str) -> np.ndarray:
    left, right = f"{field}_l", f"{field}_r"
    if left not in pairs or right not in pairs:
        return np.zeros(len(pairs), dtype=bool)
    return (pairs[left] == pairs[right]).fillna(False).to_numpy(dtype=bool)


def _level_is(scores: PairScores, comparison: str, label: str) -> np.ndarray:
    if comparison not in scores.labels or f"gamma_{comparison}" not in scores.pairs:
        return np.zeros(len(scores.pairs), dtype=bool)
    return (scores.level_of(comparison) == label).to_numpy(dtype=bool)
