"""Synthetic person records with known truth, for linkage tests and benchmarks at any size.

FEBRL tops out at 10,000 records and has no sex, phone or household structure; measuring a
regional index needs a million records whose hard cases occur at realistic rates: common names
(Zipf-distributed pools), households sharing family name, address and phone, twins, people who
move or change their family name at marriage, nicknames, typos and missing values. Everything
is vectorised with numpy except the per-character typos, which touch only a small share.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import pandas as pd

from medlake.link.nicknames import canonical_names
from medlake.synth.identifiers import luhn_check_digit

_ONSETS = [
    "b",
    "br",
    "c",
    "ch",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "st",
    "t",
    "th",
    "v",
    "w",
]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ie", "ou"]
_CODAS = ["", "n", "r", "l", "s", "th", "ck", "m", "nd", "rt", "x", "ng"]
_FAMILY_ENDINGS = [
    "son",
    "er",
    "man",
    "ley",
    "ton",
    "ford",
    "berg",
    "stein",
    "ez",
    "ini",
    "ov",
    "sky",
    "well",
    "",
]
_STREET_TYPES = ["street", "road", "lane", "avenue", "way", "close", "drive", "place", "strasse", "court"]


@dataclass(frozen=True)
class CorruptionRates:
    """How often a duplicate record differs from the person's first record, per field."""

    given_typo: float = 0.08
    nickname: float = 0.05
    given_initial: float = 0.01
    family_typo: float = 0.06
    marriage: float = 0.03
    swap_names: float = 0.01
    birth_date_typo: float = 0.03
    day_month_swap: float = 0.01
    moved: float = 0.10
    address_typo: float = 0.05
    postcode_typo: float = 0.02
    phone_typo: float = 0.02
    missing: float = 0.02
    phone_missing: float = 0.25
    identifier_present: float = 0.5


def _words(rng: np.random.Generator, count: int, endings: list[str]) -> np.ndarray:
    """Pronounceable, distinct pseudo-names (onset+vowel+coda syllables and an ending)."""
    seen: set[str] = set()
    while len(seen) < count:
        batch = max(count - len(seen), 64) * 2
        syllables = rng.integers(1, 3, batch)
        for k in range(batch):
            parts = [
                rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                for _ in range(int(syllables[k]))
            ]
            seen.add("".join(parts) + rng.choice(endings))
            if len(seen) >= count:
                break
    return np.array(sorted(seen), dtype=object)


def _zipf_weights(size: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, size + 1) ** exponent
    return weights / weights.sum()


def _real_given_names() -> tuple[np.ndarray, np.ndarray]:
    """Canonical names from the nickname table, split by a spelling heuristic into f/m pools."""
    canonical = sorted({c for group in canonical_names().values() for c in group})
    female = [n for n in canonical if n.endswith(("a", "e", "y", "ie", "ine", "lyn", "th", "ett", "is"))]
    male = [n for n in canonical if n not in set(female)]
    return np.array(female, dtype=object), np.array(male, dtype=object)


def _typo(rng: np.random.Generator, text: str) -> str:
    """One keyboard slip: substitute, delete, insert or transpose one character."""
    if not text:
        return text
    position = int(rng.integers(0, len(text)))
    kind = int(rng.integers(0, 4))
    letters = string.digits if text.isdigit() else string.ascii_lowercase
    if kind == 0:
        return text[:position] + rng.choice(list(letters)) + text[position + 1 :]
    if kind == 1 and len(text) > 2:
        return text[:position] + text[position + 1 :]
    if kind == 2:
        return text[:position] + rng.choice(list(letters)) + text[position:]
    if position < len(text) - 1:
        return text[:position] + text[position + 1] + text[position] + text[position + 2 :]
    return text[:-1] + rng.choice(list(letters))


def generate_person_records(
    n_records: int, seed: int = 7, duplicate_share: float = 0.35, rates: CorruptionRates | None = None
) -> pd.DataFrame:
    """``n_records`` person records with the person fields, ``source`` and the truth ``person_id``.

    About ``duplicate_share`` of the records are further records of an already present person,
    corrupted according to ``rates``.
    """
    if n_records < 2:
        raise ValueError("generate at least two records")
    rates = rates or CorruptionRates()
    rng = np.random.default_rng(seed)
    n_persons = max(2, int(n_records * (1 - duplicate_share)))
    persons = _people(rng, n_persons)
    extra = n_records - n_persons
    # Duplicates concentrate on some people (frequent patients), geometric-like via Zipf weights.
    owners = np.sort(
        rng.choice(n_persons, size=extra, p=_zipf_weights(n_persons, 0.3)[rng.permutation(n_persons)])
    )
    first = persons.copy()
    dups = _corrupt(rng, persons.iloc[owners].reset_index(drop=True), persons, rates)
    records = pd.concat([first, dups], ignore_index=True)
    records = records.iloc[rng.permutation(len(records))].reset_index(drop=True)
    keep_id = rng.random(len(records)) < rates.identifier_present
    records["identifier"] = records["identifier"].where(keep_id, None)
    records.insert(0, "record_id", [f"r{i:07d}" for i in range(len(records))])
    records.insert(1, "source", rng.choice([f"inst-{k:02d}" for k in range(1, 9)], size=len(records)))
    return records


def _people(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Persons in households: members share family name, address and phone; some are twins."""
    female_real, male_real = _real_given_names()
    female_made = _words(rng, max(300, n // 200), ["a", "ia", "ine", "elle", "ette", "ie"])
    male_made = _words(rng, max(300, n // 200), ["", "o", "an", "us", "ard", "in"])
    # Shuffled, so that which names are common does not follow the alphabet.
    female_pool = rng.permutation(np.concatenate([female_real, female_made]))
    male_pool = rng.permutation(np.concatenate([male_real, male_made]))
    families = rng.permutation(_words(rng, max(1000, n // 10), _FAMILY_ENDINGS))
    streets = _words(rng, max(200, n // 60), [""])
    n_cities = max(20, min(800, n // 1500))
    cities = _words(rng, n_cities, ["ton", "burg", "field", "heim", "ville", "stadt", "by"])
    states = np.array([f"region {c}" for c in "abcdefgh"], dtype=object)
    city_state = rng.integers(0, len(states), n_cities)
    city_code = rng.choice(np.arange(100, 1000), size=n_cities, replace=False)

    household = np.cumsum(rng.random(n) < 0.45)  # mean household size ~2.2
    household -= household[0]
    n_households = int(household[-1]) + 1
    h_family = rng.choice(len(families), n_households, p=_zipf_weights(len(families), 0.6))
    h_city = rng.choice(n_cities, n_households, p=_zipf_weights(n_cities, 1.0))
    h_house = rng.integers(1, 200, n_households)
    h_street = rng.integers(0, len(streets), n_households)
    h_type = rng.integers(0, len(_STREET_TYPES), n_households)
    h_district = rng.integers(0, 100, n_households)
    h_phone = rng.integers(100_000_000, 999_999_999, n_households)

    sex = np.where(rng.random(n) < 0.51, "f", "m")
    female = sex == "f"
    given = np.empty(n, dtype=object)
    given[female] = female_pool[
        rng.choice(len(female_pool), female.sum(), p=_zipf_weights(len(female_pool), 0.7))
    ]
    given[~female] = male_pool[
        rng.choice(len(male_pool), (~female).sum(), p=_zipf_weights(len(male_pool), 0.7))
    ]
    birth_day = rng.integers(0, 36_500, n)
    # Twins: the next member of the same household is born the same day, with another given name.
    twin = np.zeros(n, dtype=bool)
    twin[1:] = (household[1:] == household[:-1]) & (rng.random(n - 1) < 0.03)
    birth_day[1:] = np.where(twin[1:], birth_day[:-1], birth_day[1:])
    dates = (np.datetime64("1925-01-01") + birth_day.astype("timedelta64[D]")).astype(str)
    own_phone = rng.random(n) < 0.6
    phone = np.where(own_phone, rng.integers(100_000_000, 999_999_999, n), h_phone[household])

    city_index = h_city[household]
    return pd.DataFrame(
        {
            "person_id": [f"p{i:07d}" for i in range(n)],
            "given": given,
            "family": families[h_family[household]],
            "birth_date": dates,
            "sex": sex,
            "address": [
                f"{num} {street} {kind}"
                for num, street, kind in zip(
                    h_house[household],
                    streets[h_street[household]],
                    np.array(_STREET_TYPES)[h_type[household]],
                    strict=True,
                )
            ],
            "city": cities[city_index],
            "postcode": [
                f"{c}{d:02d}" for c, d in zip(city_code[city_index], h_district[household], strict=True)
            ],
            "state": states[city_state[city_index]],
            "phone": [f"0{p}" for p in phone],
            # National ids carry a Luhn check digit, as the region's do (medlake.synth).
            "identifier": [
                f"{i:09d}{luhn_check_digit(f'{i:09d}')}" for i in rng.permutation(n) + 100_000_000
            ],
        }
    )


def _corrupt(
    rng: np.random.Generator, dups: pd.DataFrame, persons: pd.DataFrame, rates: CorruptionRates
) -> pd.DataFrame:
    n = len(dups)
    out = dups.copy()

    def pick(rate: float) -> np.ndarray:
        return rng.random(n) < rate

    def apply(column: str, mask: np.ndarray, change) -> None:
        values = out[column].to_numpy(dtype=object)
        for i in np.flatnonzero(mask):
            if isinstance(values[i], str) and values[i]:
                values[i] = change(values[i])
        out[column] = values

    groups = canonical_names()
    nicknames: dict[str, list[str]] = {}
    for nick, canon in groups.items():
        for name in canon:
            if nick != name:
                nicknames.setdefault(name, []).append(nick)
    apply("given", pick(rates.nickname), lambda g: str(rng.choice(nicknames[g])) if g in nicknames else g)
    apply("given", pick(rates.given_typo), lambda g: _typo(rng, g))
    apply("given", pick(rates.given_initial), lambda g: g[0])
    apply("family", pick(rates.family_typo), lambda f: _typo(rng, f))
    married = pick(rates.marriage) & (out["sex"].to_numpy() == "f")
    out.loc[married, "family"] = persons["family"].to_numpy()[rng.integers(0, len(persons), married.sum())]
    swap = pick(rates.swap_names)
    out.loc[swap, ["given", "family"]] = out.loc[swap, ["family", "given"]].to_numpy()

    apply("birth_date", pick(rates.birth_date_typo), lambda d: _date_typo(rng, d))
    apply(
        "birth_date",
        pick(rates.day_month_swap),
        lambda d: f"{d[:4]}-{d[8:10]}-{d[5:7]}" if d[8:10] <= "12" else d,
    )

    moved = pick(rates.moved)
    donors = rng.integers(0, len(persons), moved.sum())
    for column in ("address", "city", "postcode", "state"):
        out.loc[moved, column] = persons[column].to_numpy()[donors]
    new_phone = moved & (rng.random(n) < 0.5)
    out.loc[new_phone, "phone"] = [f"0{p}" for p in rng.integers(100_000_000, 999_999_999, new_phone.sum())]
    apply("address", pick(rates.address_typo), lambda a: _typo(rng, a))
    apply("postcode", pick(rates.postcode_typo), lambda p: _typo(rng, p))
    apply("phone", pick(rates.phone_typo), lambda p: _typo(rng, p))

    for column in ("given", "family", "birth_date", "sex", "address", "city", "postcode"):
        out.loc[pick(rates.missing), column] = None
    out.loc[pick(rates.phone_missing), "phone"] = None
    return out


def _date_typo(rng: np.random.Generator, date: str) -> str:
    """One wrong digit in a date; the result may not be a calendar date, as in real registers."""
    position = int(rng.choice([2, 3, 5, 6, 8, 9]))  # decade, year, month or day digits
    digit = str(int(rng.integers(0, 10)))
    return date[:position] + digit + date[position + 1 :]
