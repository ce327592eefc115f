"""How two person records are compared, field by field: the evidence the model weighs.

Each comparison sorts a record pair into one of a few ordered levels (exact, nickname, typo,
different, ...). Splink learns per level how often true matches (m) and non-matches (u) land
there, and the ratio is the level's weight of evidence. The levels encode what registration
data gets wrong: typos, swapped given/family names, nicknames, day/month swaps, moves.

Address, city, postcode and state are one "location" comparison on purpose: they change
together when a person moves, and scoring them separately would count one move four times
(the independence assumption of Fellegi-Sunter), which is what breaks "moved house" links.
"""

from __future__ import annotations

from collections.abc import Collection

import splink.comparison_level_library as cll
from splink import ColumnExpression
from splink.comparison_library import CustomComparison

from medlake.link.backend import SQL_DIALECT

# Comparison names are part of the public evidence format (gamma_<name>, bf_<name> columns).
GIVEN = "given"
FAMILY = "family"
BIRTH_DATE = "birth_date"
SEX = "sex"
LOCATION = "location"
PHONE = "phone"
IDENTIFIER = "identifier"

#: Which standardised person fields each comparison reads; a comparison is used when any has data.
COMPARISON_FIELDS: dict[str, tuple[str, ...]] = {
    GIVEN: ("given",),
    FAMILY: ("family",),
    BIRTH_DATE: ("birth_date",),
    SEX: ("sex",),
    LOCATION: ("address", "city", "postcode", "state"),
    PHONE: ("phone",),
    IDENTIFIER: ("identifier",),
}

#: The last levels of given name and birth date: a disagreement nothing explains (decisions.py vetoes).
GIVEN_DIFFERENT_LABEL = "different given name"
BIRTH_DATE_DIFFERENT_LABEL = "different birth date"


def _custom(sql: str, label: str) -> cll.CustomLevel:
    return cll.CustomLevel(sql, label_for_charts=label, base_dialect_str=SQL_DIALECT)


def _exact(column: str, label: str, term_frequencies: bool) -> cll.ExactMatchLevel:
    level = cll.ExactMatchLevel(column)
    if term_frequencies:
        return level.configure(tf_adjustment_column=column, label_for_charts=label)
    return level.configure(label_for_charts=label)


#: Given and family name swapped, and the given name a nickname of the other record's ("Shaw, Becky"
#: filed as given "shaw", family "becky", against given "rebecca", family "shaw"): one name agrees
#: across the fields, the other by nickname group (standardise() gives both fields a group).
SWAPPED_WITH_NICKNAME = (
    "(given_l = family_r "
    "AND array_length(array_intersect(family_nicknames_l, given_nicknames_r)) >= 1) "
    "OR (family_l = given_r "
    "AND array_length(array_intersect(given_nicknames_l, family_nicknames_r)) >= 1)"
)


def given_name(term_frequencies: bool) -> CustomComparison:
    """First names: nickname table and phonetics on top of typo-tolerant string similarity."""
    return CustomComparison(
        output_column_name=GIVEN,
        comparison_description="given name",
        comparison_levels=[
            cll.NullLevel("given"),
            _exact("given", "exact given name", term_frequencies),
            cll.ColumnsReversedLevel("given", "family", symmetrical=True).configure(
                label_for_charts="given and family names swapped"
            ),
            _custom(SWAPPED_WITH_NICKNAME, "given and family names swapped, one a nickname"),
            cll.ArrayIntersectLevel("given_nicknames", 1).configure(
                label_for_charts="nickname of each other"
            ),
            cll.JaroWinklerLevel("given", 0.92).configure(label_for_charts="given name Jaro-Winkler >= 0.92"),
            cll.ExactMatchLevel("given_phonetic").configure(label_for_charts="given names sound alike"),
            cll.JaroWinklerLevel("given", 0.80).configure(label_for_charts="given name Jaro-Winkler >= 0.80"),
            _custom(
                "(length(given_l) = 1 OR length(given_r) = 1) "
                "AND substr(given_l, 1, 1) = substr(given_r, 1, 1)",
                "initial agrees with given name",
            ),
            cll.ElseLevel().configure(label_for_charts=GIVEN_DIFFERENT_LABEL),
        ],
    )


def family_name(term_frequencies: bool) -> CustomComparison:
    """Family names: a double-barrelled name containing the other counts (marriage, "Smith-Jones")."""
    return CustomComparison(
        output_column_name=FAMILY,
        comparison_description="family name",
        comparison_levels=[
            cll.NullLevel("family"),
            _exact("family", "exact family name", term_frequencies),
            cll.ColumnsReversedLevel("given", "family", symmetrical=True).configure(
                label_for_charts="given and family names swapped"
            ),
            cll.JaroWinklerLevel("family", 0.92).configure(
                label_for_charts="family name Jaro-Winkler >= 0.92"
            ),
            cll.ExactMatchLevel("family_phonetic").configure(label_for_charts="family names sound alike"),
            cll.JaroWinklerLevel("family", 0.80).configure(
                label_for_charts="family name Jaro-Winkler >= 0.80"
            ),
            _custom(
                "length(family_l) >= 3 AND length(family_r) >= 3 "
                "AND (strpos(family_l, family_r) > 0 OR strpos(family_r, family_l) > 0)",
                "one family name contains the other",
            ),
            cll.ElseLevel().configure(label_for_charts="different family name"),
        ],
    )


def birth_date() -> CustomComparison:
    """Dates of birth as 'YYYY-MM-DD' text, so that typos in invalid dates still count."""
    swapped_day_month = (
        "substr(birth_date_l, 1, 4) = substr(birth_date_r, 1, 4) "
        "AND substr(birth_date_l, 6, 2) = substr(birth_date_r, 9, 2) "
        "AND substr(birth_date_l, 9, 2) = substr(birth_date_r, 6, 2)"
    )
    return CustomComparison(
        output_column_name=BIRTH_DATE,
        comparison_description="date of birth",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date").configure(label_for_charts="exact birth date"),
            cll.LevenshteinLevel("birth_date", 1).configure(label_for_charts="birth date one digit off"),
            _custom(swapped_day_month, "birth date with day and month swapped"),
            cll.LevenshteinLevel("birth_date", 2).configure(label_for_charts="birth date two digits off"),
            cll.ElseLevel().configure(label_for_charts=BIRTH_DATE_DIFFERENT_LABEL),
        ],
    )


def sex() -> CustomComparison:
    return CustomComparison(
        output_column_name=SEX,
        comparison_description="administrative sex",
        comparison_levels=[
            cll.NullLevel("sex"),
            cll.ExactMatchLevel("sex").configure(label_for_charts="same sex"),
            cll.ElseLevel().configure(label_for_charts="different sex"),
        ],
    )


def location(present: Collection[str], term_frequencies: bool) -> CustomComparison:
    """Where the person lives, from the most to the least precise agreement."""
    levels: list[cll.CustomLevel | cll.ExactMatchLevel | cll.ElseLevel | cll.JaroWinklerLevel] = []
    null_parts = [
        f"({c}_l IS NULL OR {c}_r IS NULL)" for c in ("address", "city", "postcode", "state") if c in present
    ]
    levels.append(_custom(" AND ".join(null_parts), "no location to compare").configure(is_null_level=True))
    if "address" in present:
        if "postcode" in present:
            levels.append(
                _custom("address_l = address_r AND postcode_l = postcode_r", "same address and postcode")
            )
        levels.append(_exact("address", "same address", term_frequencies))
        close = ColumnExpression("address")
        levels.append(
            cll.JaroWinklerLevel(close, 0.92).configure(label_for_charts="address Jaro-Winkler >= 0.92")
        )
        levels.append(
            cll.JaroWinklerLevel(close, 0.80).configure(label_for_charts="address Jaro-Winkler >= 0.80")
        )
    if "postcode" in present:
        levels.append(_exact("postcode", "same postcode, other address", term_frequencies))
        levels.append(cll.LevenshteinLevel("postcode", 1).configure(label_for_charts="postcode one typo"))
    if "city" in present:
        levels.append(_exact("city", "same city, other address", term_frequencies))
        levels.append(
            cll.JaroWinklerLevel("city", 0.90).configure(label_for_charts="city Jaro-Winkler >= 0.90")
        )
    if "state" in present:
        levels.append(cll.ExactMatchLevel("state").configure(label_for_charts="same state only"))
    levels.append(cll.ElseLevel().configure(label_for_charts="lives elsewhere"))
    return CustomComparison(
        output_column_name=LOCATION, comparison_description="address", comparison_levels=levels
    )


def phone(term_frequencies: bool) -> CustomComparison:
    """Phones: shared within a household, hence the frequency adjustment on exact agreement."""
    return CustomComparison(
        output_column_name=PHONE,
        comparison_description="phone number",
        comparison_levels=[
            cll.NullLevel("phone"),
            _exact("phone", "same phone", term_frequencies),
            cll.LevenshteinLevel("phone", 1).configure(label_for_charts="phone one digit off"),
            cll.ElseLevel().configure(label_for_charts="different phone"),
        ],
    )


def identifier() -> CustomComparison:
    return CustomComparison(
        output_column_name=IDENTIFIER,
        comparison_description="national identifier",
        comparison_levels=[
            cll.NullLevel("identifier"),
            cll.ExactMatchLevel("identifier").configure(label_for_charts="same identifier"),
            cll.LevenshteinLevel("identifier", 1).configure(label_for_charts="identifier one typo"),
            cll.ElseLevel().configure(label_for_charts="different identifier"),
        ],
    )


def build_comparisons(present_fields: Collection[str], term_frequencies: bool) -> list[CustomComparison]:
    """The comparisons for the fields that have data; an all-null field carries no evidence."""
    present = set(present_fields)
    makers = {
        GIVEN: lambda: given_name(term_frequencies),
        FAMILY: lambda: family_name(term_frequencies),
        BIRTH_DATE: birth_date,
        SEX: sex,
        LOCATION: lambda: location(present, term_frequencies),
        PHONE: lambda: phone(term_frequencies),
        IDENTIFIER: identifier,
    }
    return [make() for name, make in makers.items() if present & set(COMPARISON_FIELDS[name])]
