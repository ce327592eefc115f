"""Survivorship: which linked record each field of a person's golden record comes from.

A person linked across institutions has several Patient records that disagree: a name
changed at marriage, an address after a move, a birth date typed wrongly at one desk. The
golden record takes each field from one record, by a rule that fits how the field changes:

* **recency** (name, address, phone): these change over a life, so the record updated most
  recently (``meta.lastUpdated``) is the best evidence. A field group (given + family; the
  four address parts) is taken whole from one record so that a street is never paired with
  another record's city.
* **trust** (birth date, sex, national id): these do not change, so a newer record is not
  better evidence, but a registry is better than a walk-in desk. Candidates come from the
  most trusted institution that has a value (``person_source_trust``, most trusted first;
  unlisted institutions come after every listed one, equal to each other); among that
  tier's values the one most records of the person agree on (counted over all their
  records, so other institutions corroborate) wins, then the one recorded most recently.

Everywhere, active records come before inactive ones (an inactive record is only used when
no active record has the field), full birth dates before partial ones (``1970`` is not a
disagreement with ``1970-05-12``, just less), and remaining ties go to the most complete
record (most identifying fields filled), then to the smallest patient id, so the result
never depends on input order.

Each field group cites the integrated patient id (``<institution>.<local id>``) it came
from in a ``<group>_from`` column: one wide row per person, because the serving store
reads a person's golden record with one key lookup, and a long provenance table would
need a pivot on every read for the same information.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

import numpy as np
import pandas as pd


class Rule(StrEnum):
    RECENT = "most recent"
    TRUSTED = "trust > agreement > recency"


#: Field group -> (columns taken together from one record, rule).
FIELD_GROUPS: dict[str, tuple[tuple[str, ...], Rule]] = {
    "name": (("given", "family"), Rule.RECENT),
    "birth_date": (("birth_date",), Rule.TRUSTED),
    "sex": (("sex",), Rule.TRUSTED),
    "national_id": (("national_id",), Rule.TRUSTED),
    "address": (("address_line", "city", "postcode", "state"), Rule.RECENT),
    "phone": (("phone",), Rule.RECENT),
}

#: The identifying fields a record can fill; their count is a record's completeness.
IDENTIFYING: tuple[str, ...] = tuple(c for columns, _ in FIELD_GROUPS.values() for c in columns)

#: Columns ``survive`` reads besides the identifying fields.
RECORD_COLUMNS: tuple[str, ...] = ("person_id", "patient_id", "institution", "active", "last_updated")

_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def golden_columns() -> list[str]:
    """Column order of the golden table."""
    columns = ["person_id"]
    for group, (fields, _) in FIELD_GROUPS.items():
        columns += [*fields, f"{group}_from"]
    return [*columns, "records", "institutions", "last_updated"]


def survive(records: pd.DataFrame, trust: Sequence[str] = ()) -> pd.DataFrame:
    """One golden row per ``person_id`` of ``records`` (person_record rows plus their person_id).

    ``records`` needs :data:`RECORD_COLUMNS` and :data:`IDENTIFYING`; ``trust`` lists
    institutions most trusted first. Returns :func:`golden_columns`, sorted by person_id.
    """
    missing = [c for c in (*RECORD_COLUMNS, *IDENTIFYING) if c not in records.columns]
    if missing:
        raise ValueError(f"person records lack column(s) {missing}")
    frame = records[list(RECORD_COLUMNS) + list(IDENTIFYING)].copy()
    for column in IDENTIFYING:
        values = frame[column].astype("string").str.strip()
        frame[column] = values.mask(values == "")
    frame["_completeness"] = frame[list(IDENTIFYING)].notna().sum(axis=1)
    frame["_inactive"] = frame["active"].map(lambda v: 1 if v is False or v == 0 else 0).astype(int)
    rank = {institution: i for i, institution in enumerate(trust)}
    frame["_trust"] = frame["institution"].map(rank).fillna(len(rank)).astype(int)
    frame["_ts"] = pd.to_datetime(frame["last_updated"], utc=True, errors="coerce", format="ISO8601")
    # recency order: active first, newest first, most complete first, smallest patient id first
    frame = frame.sort_values(
        ["person_id", "_inactive", "_ts", "_completeness", "patient_id"],
        ascending=[True, True, False, False, True],
        na_position="last",
        kind="mergesort",
    ).reset_index(drop=True)
    frame["_order"] = np.arange(len(frame))

    golden = _summary(frame)
    for group, (fields, rule) in FIELD_GROUPS.items():
        chosen = _recent(frame, fields) if rule is Rule.RECENT else _trusted(frame, fields[0])
        picked = chosen[["person_id", *fields, "patient_id"]].rename(columns={"patient_id": f"{group}_from"})
        golden = golden.merge(picked, on="person_id", how="left")
    golden = golden[golden_columns()].sort_values("person_id").reset_index(drop=True)
    return golden.astype(object).where(golden.notna(), None)


def _summary(frame: pd.DataFrame) -> pd.DataFrame:
    grouped = frame.groupby("person_id", sort=True)
    summary = pd.DataFrame(
        {
            "records": grouped.size().astype("int64"),
            "institutions": grouped["institution"].agg(lambda s: ",".join(sorted(set(s.dropna())))),
            "last_updated": grouped["last_updated"].agg(lambda s: max(s.dropna(), default=None)),
        }
    )
    return summary.reset_index()


def _recent(frame: pd.DataFrame, fields: tuple[str, ...]) -> pd.DataFrame:
    """The first record in recency order that fills any of ``fields``."""
    candidates = frame[frame[list(fields)].notna().any(axis=1)]
    return candidates.drop_duplicates("person_id", keep="first")


def _trusted(frame: pd.DataFrame, field: str) -> pd.DataFrame:
    """The trust rule for one field; the cited record is the newest of the winning value's tier records."""
    candidates = frame[frame[field].notna()].copy()
    if field == "birth_date":
        candidates["_partial"] = (~candidates[field].str.match(_FULL_DATE)).astype(int)
    else:
        candidates["_partial"] = 0
    candidates["_tier"] = (
        candidates["_inactive"] * 1_000_000 + candidates["_partial"] * 1_000 + candidates["_trust"]
    )
    best = candidates.groupby("person_id")["_tier"].transform("min")
    support = candidates.groupby(["person_id", field])[field].transform("size")
    candidates["_support"] = support
    tier = candidates[candidates["_tier"] == best]
    # one representative per (person, value): the first in recency order (tier keeps that order)
    representatives = tier.drop_duplicates(["person_id", field], keep="first")
    ranked = representatives.sort_values(
        ["person_id", "_support", "_order"], ascending=[True, False, True], kind="mergesort"
    )
    return ranked.drop_duplicates("person_id", keep="first")
