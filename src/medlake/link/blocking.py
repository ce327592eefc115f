"""Which record pairs are compared at all (blocking), and which pairs train the model.

Comparing every pair of a million records is 5e11 comparisons; blocking keeps only pairs that
agree on something cheap to join on. A true pair is found when ANY rule catches it, so the
rules are chosen to fail independently: a typo in the birth date is caught by the name or
postcode rules, a move by the birth-date rule, a name change by phone or identifier.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from splink import block_on
from splink.blocking_rule_library import CustomRule

from medlake.errors import InputError
from medlake.link.backend import SQL_DIALECT


@dataclass(frozen=True)
class BlockingRule:
    """A named blocking rule: the fields it needs and its SQL over l./r. columns."""

    name: str
    fields: tuple[str, ...]
    description: str

    def splink_rule(self) -> object:
        return _RULE_FACTORIES[self.name]()


_RULE_FACTORIES = {
    "birth_date": lambda: block_on("birth_date"),
    "postcode_family_phonetic": lambda: block_on("postcode", "family_phonetic"),
    "initials_birth_year_month": lambda: block_on(
        "substr(given, 1, 1)", "substr(family, 1, 1)", "substr(birth_date, 1, 7)"
    ),
    "names": lambda: block_on("given", "family"),
    "phone": lambda: block_on("phone"),
    "identifier": lambda: block_on("identifier"),
    "swapped_names": lambda: CustomRule("l.given = r.family AND l.family = r.given", sql_dialect=SQL_DIALECT),
    "birth_date_given_phonetic": lambda: block_on("birth_date", "given_phonetic"),
    "birth_date_family_phonetic": lambda: block_on("birth_date", "family_phonetic"),
}

PREDICTION_RULES: dict[str, BlockingRule] = {
    rule.name: rule
    for rule in (
        BlockingRule("birth_date", ("birth_date",), "same birth date"),
        BlockingRule(
            "postcode_family_phonetic", ("postcode", "family"), "same postcode and family names sound alike"
        ),
        BlockingRule(
            "initials_birth_year_month",
            ("given", "family", "birth_date"),
            "same initials and same year and month of birth",
        ),
        BlockingRule("names", ("given", "family"), "same given and family name"),
        BlockingRule("phone", ("phone",), "same phone number"),
        BlockingRule("identifier", ("identifier",), "same national identifier"),
        BlockingRule("swapped_names", ("given", "family"), "given and family names swapped"),
        BlockingRule(
            "birth_date_given_phonetic",
            ("birth_date", "given"),
            "same birth date and given names sound alike",
        ),
        BlockingRule(
            "birth_date_family_phonetic",
            ("birth_date", "family"),
            "same birth date and family names sound alike",
        ),
    )
}


def prediction_rules(names: Sequence[str], present_fields: Collection[str]) -> list[object]:
    """Splink rules for the named blocking rules whose fields all have data.

    A rule on an empty field would block nothing (NULL never joins), so it is dropped rather
    than wasting a join; an unknown name is a configuration error.
    """
    unknown = [n for n in names if n not in PREDICTION_RULES]
    if unknown:
        raise InputError(f"unknown blocking rule(s) {unknown}; known rules are {sorted(PREDICTION_RULES)}")
    present = set(present_fields)
    rules = [PREDICTION_RULES[n].splink_rule() for n in names if set(PREDICTION_RULES[n].fields) <= present]
    if not rules:
        raise InputError(f"none of the blocking rules {list(names)} can run: their fields have no data")
    return rules


def training_rules(present_fields: Collection[str]) -> list[object]:
    """Blocking rules for the EM sessions: each comparison must be free to vary in one of them.

    EM cannot estimate m for a comparison that the blocking rule forces to agree, so one session
    blocks on birth date (learning names, location, phone, identifier) and another on the
    sound of both names (learning birth date).
    """
    present = set(present_fields)
    rules: list[object] = []
    if "birth_date" in present:
        rules.append(block_on("birth_date"))
    if {"given", "family"} <= present:
        rules.append(block_on("given_phonetic", "family_phonetic"))
    elif "postcode" in present:
        rules.append(block_on("postcode"))
    if not rules:
        raise InputError("linking needs a birth date or both names to train the model")
    return rules
