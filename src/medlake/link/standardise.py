"""Cleaning person fields into the comparable forms the linkage model expects.

Most linkage errors are formatting, not identity: "MÜLLER-Lüdenscheidt", "+49 30 1234567" and
"1980-2-3" must meet "muller-ludenscheidt", "030 1234567" and "1980-02-03" before any
probability is worth computing. The string work runs as one DuckDB query (vectorised, multi-core)
whatever backend Splink later uses; phonetic codes and nickname groups are computed in Python over
the distinct names only, which are few even in a million records. The family name gets a nickname
group too: in a record filed with given and family name swapped it holds the given name, which may
be a nickname ("Shaw, Becky" filed as given "Shaw", family "Becky").

The SQL is DuckDB's (``regexp_replace`` with flags, ``strip_accents``, ``try_strptime``) and
runs on DuckDB only (:func:`medlake.engine.duckdb_only`): standardisation must give the same
comparable forms whatever engine the region runs, or stored fingerprints and models would drift.

Identifiers also get their check digits verified (Luhn; ISO 7064 MOD 11-2), one boolean column
per scheme, because which scheme applies is a linkage setting (``LinkSettings.identifier_check``)
and standardisation does not know the settings. A national id that fails its check digit was
mistyped by somebody, so it must not be trusted as the person's id (decisions.py, clustering.py).
"""

from __future__ import annotations

from collections.abc import Iterable

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from medlake.engine import Engine, duckdb_only, get_engine
from medlake.errors import InputError
from medlake.link.nicknames import nickname_group
from medlake.link.records import (
    ID_COLUMN,
    PERSON_FIELDS,
    SOURCE_COLUMN,
    PersonTable,
    RecordError,
    check_record_ids,
    to_arrow,
)
from medlake.link.settings import IDENTIFIER_CHECKS, IdentifierCheck

#: Per check-digit scheme, the standardised column telling whether each identifier passes it
#: (null where there is no identifier).
CHECK_COLUMNS: dict[str, str] = {"luhn": "identifier_luhn_valid", "mod11-2": "identifier_mod11_2_valid"}

#: Columns of a standardised table, in order (what the Splink model reads).
STANDARD_COLUMNS: tuple[str, ...] = (
    ID_COLUMN,
    SOURCE_COLUMN,
    *PERSON_FIELDS,
    "given_phonetic",
    "family_phonetic",
    "given_nicknames",
    "family_nicknames",
    *CHECK_COLUMNS.values(),
)

_SEX_CODES = {
    "m": "m", "male": "m", "man": "m", "1": "m", "mann": "m", "maennlich": "m", "männlich": "m",
    "f": "f", "female": "f", "woman": "f", "2": "f", "w": "f", "weiblich": "f", "frau": "f",
    "o": "x", "x": "x", "d": "x", "other": "x", "divers": "x", "diverse": "x", "3": "x",
    "u": None, "unknown": None, "unk": None, "9": None, "0": None, "": None,
}  # fmt: skip

_ADDRESS_ABBREVIATIONS = {
    "st": "street", "str": "strasse", "rd": "road", "ave": "avenue", "av": "avenue", "dr": "drive",
    "ln": "lane", "ct": "court", "pl": "place", "cres": "crescent", "blvd": "boulevard",
    "hwy": "highway", "sq": "square", "tce": "terrace", "cl": "close", "pde": "parade", "apt": "apartment",
}  # fmt: skip

_NAME_NOISE = r"\b(mr|mrs|ms|miss|mx|dr|prof|sir|jr|sr|ii|iii|iv|von|van|der|de|la|le)\b"


def _text(column: str) -> str:
    """Lower-case, accent-free text with every run of non-letters/digits turned into one space."""
    folded = f"replace(lower(strip_accents(trim(CAST({column} AS VARCHAR)))), 'ß', 'ss')"
    return f"nullif(trim(regexp_replace({folded}, '[^a-z0-9]+', ' ', 'g')), '')"


def _name(column: str) -> str:
    """Letters only, titles and particles removed: "Dr. van der Berg-Smith" -> "bergsmith".

    Spaces and hyphens go too, because typists split and join names at will ("har risn",
    "Mary-Ann"); the first token survives separately for nickname lookup.
    """
    words = f"trim(regexp_replace({_text(column)}, '{_NAME_NOISE}', ' ', 'g'))"
    return f"nullif(regexp_replace({words}, '[^a-z]', '', 'g'), '')"


def _first_word(column: str) -> str:
    words = f"trim(regexp_replace({_text(column)}, '{_NAME_NOISE}', ' ', 'g'))"
    return f"nullif(regexp_replace(split_part({words}, ' ', 1), '[^a-z]', '', 'g'), '')"


def _address(column: str) -> str:
    expression = _text(column)
    for short, long in _ADDRESS_ABBREVIATIONS.items():
        expression = f"regexp_replace({expression}, '\\b{short}\\b', '{long}', 'g')"
    return expression


def _birth_date(column: str) -> str:
    """ISO 'YYYY-MM-DD' from ISO (with or without time) or YYYYMMDD; other text stays as-is.

    Digit strings that are not calendar dates (a clerk's "1931-99-24") are kept: the model's
    typo-tolerant levels still compare them. Unparseable text is rejected by the caller.
    """
    raw = f"regexp_replace(trim(CAST({column} AS VARCHAR)), '\\.0$', '')"
    return f"""CASE
        WHEN {raw} = '' THEN NULL
        WHEN regexp_matches({raw}, '^\\d{{4}}-\\d{{2}}-\\d{{2}}') THEN substr({raw}, 1, 10)
        WHEN regexp_matches({raw}, '^\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}$') THEN
            strftime(try_strptime({raw}, '%Y-%m-%d'), '%Y-%m-%d')
        WHEN regexp_matches({raw}, '^\\d{{8}}$') THEN
            substr({raw}, 1, 4) || '-' || substr({raw}, 5, 2) || '-' || substr({raw}, 7, 2)
        ELSE NULL END"""


def _phone(column: str) -> str:
    """Digits only, the last nine kept: drops "+49"/"0" trunk prefixes that differ per clerk."""
    digits = f"regexp_replace(CAST({column} AS VARCHAR), '[^0-9]', '', 'g')"
    return f"CASE WHEN length({digits}) < 6 THEN NULL ELSE right({digits}, 9) END"


def _identifier(column: str) -> str:
    cleaned = f"regexp_replace(upper(CAST({column} AS VARCHAR)), '[^A-Z0-9]', '', 'g')"
    # A string of one repeated character (000000000, 999999999) is a "no id" placeholder.
    repeated = f"length(replace({cleaned}, left({cleaned}, 1), '')) = 0"
    return f"CASE WHEN {cleaned} = '' OR {repeated} THEN NULL ELSE {cleaned} END"


def _postcode(column: str) -> str:
    cleaned = f"regexp_replace(upper(CAST({column} AS VARCHAR)), '[^A-Z0-9]', '', 'g')"
    return f"nullif({cleaned}, '')"


def standardise(records: PersonTable, engine: Engine | None = None) -> pa.Table:
    """The standardised person table (``STANDARD_COLUMNS``) for records with the person fields.

    Fields missing from the input are all-null columns; the model then leaves them out.
    Raises RecordError on duplicate/missing ids, unreadable birth dates or unknown sex codes.
    ``engine`` is a DuckDB engine (``medlake.link.backend.local_engine``); a default one otherwise.
    """
    if engine is None:
        with get_engine() as default:
            return standardise(records, default)
    duckdb_only(engine, "standardising person fields")
    table = to_arrow(records)
    check_record_ids(table)
    present = set(table.column_names)
    with engine.registered("raw", table):
        _reject_unreadable_values(engine, present)
        expressions = {
            ID_COLUMN: f"CAST({ID_COLUMN} AS VARCHAR)",
            SOURCE_COLUMN: f"nullif(trim(CAST({SOURCE_COLUMN} AS VARCHAR)), '')",
            "given": _name("given"),
            "family": _name("family"),
            "given_first": _first_word("given"),
            "family_first": _first_word("family"),
            "birth_date": _birth_date("birth_date"),
            "sex": _sex_sql("sex"),
            "address": _address("address"),
            "city": _text("city"),
            "postcode": _postcode("postcode"),
            "state": _text("state"),
            "phone": _phone("phone"),
            "identifier": _identifier("identifier"),
        }
        select = ",\n".join(
            f"{sql} AS {name}"
            if _source_column(name) in present or name == ID_COLUMN
            else f"NULL::VARCHAR AS {name}"
            for name, sql in expressions.items()
        )
        cleaned = engine.sql(f"SELECT {select} FROM raw")
    result = _add_identifier_checks(_add_name_keys(cleaned)).select(list(STANDARD_COLUMNS))
    # The marker lets the model skip a second cleaning pass over tables it was handed clean.
    return result.replace_schema_metadata({"medlake.link": "standardised"})


def _source_column(name: str) -> str:
    return name.removesuffix("_first")


def _sex_sql(column: str) -> str:
    cases = " ".join(
        f"WHEN '{raw}' THEN {'NULL' if code is None else repr(code)}" for raw, code in _SEX_CODES.items()
    )
    return f"CASE lower(trim(CAST({column} AS VARCHAR))) {cases} ELSE NULL END"


def _reject_unreadable_values(engine: Engine, present: set[str]) -> None:
    """Birth dates and sex codes that mean nothing are an input error, not a missing value."""
    if "birth_date" in present:
        bad = (
            engine.sql(
                f"""SELECT DISTINCT CAST(birth_date AS VARCHAR) AS v FROM raw
                WHERE birth_date IS NOT NULL AND trim(CAST(birth_date AS VARCHAR)) <> ''
                  AND ({_birth_date("birth_date")}) IS NULL LIMIT 5"""
            )
            .column(0)
            .to_pylist()
        )
        if bad:
            raise RecordError(f"birth_date values must be ISO dates (YYYY-MM-DD) or YYYYMMDD; got e.g. {bad}")
    if "sex" in present:
        known = ", ".join(f"'{raw}'" for raw in _SEX_CODES)
        bad = (
            engine.sql(
                f"""SELECT DISTINCT CAST(sex AS VARCHAR) FROM raw
                WHERE sex IS NOT NULL AND lower(trim(CAST(sex AS VARCHAR))) NOT IN ({known}) LIMIT 5"""
            )
            .column(0)
            .to_pylist()
        )
        if bad:
            raise RecordError(f"unknown sex code(s) {bad}; use m/f/x/u or male/female/other")


def _add_name_keys(table: pa.Table) -> pa.Table:
    """Phonetic codes (metaphone) and nickname groups, computed once per distinct name.

    Both name fields get a nickname group, from the whole name and its first word ("Mary Ann"
    is "maryann" whole, "mary" first); the family one serves swapped-name records only.
    """
    given = table.column("given").to_pylist()
    family = table.column("family").to_pylist()
    phonetic = {name: jellyfish.metaphone(name) or None for name in set(given) | set(family) if name}
    groups: dict[tuple[str | None, str | None], list[str] | None] = {}

    def nicknames(field: str) -> pa.Array:
        values = []
        whole, first = table.column(field).to_pylist(), table.column(f"{field}_first").to_pylist()
        for key in zip(whole, first, strict=True):
            if key not in groups:
                merged = set(nickname_group(key[0]) or ()) | set(nickname_group(key[1]) or ())
                groups[key] = sorted(merged) or None
            values.append(groups[key])
        return pa.array(values, pa.list_(pa.string()))

    table = table.append_column("given_phonetic", pa.array([phonetic.get(n) for n in given], pa.string()))
    table = table.append_column("family_phonetic", pa.array([phonetic.get(n) for n in family], pa.string()))
    table = table.append_column("given_nicknames", nicknames("given"))
    return table.append_column("family_nicknames", nicknames("family"))


# ------------------------------------------------------------------ identifier check digits

#: What each scheme's identifiers look like once standardised (upper-case alphanumerics).
_CHECK_FORMS: dict[str, str] = {"luhn": "^[0-9]{2,}$", "mod11-2": "^[0-9]+[0-9X]$"}


def passes_check(
    identifiers: Iterable[str | None] | pa.Array | pa.ChunkedArray, check: IdentifierCheck
) -> np.ndarray:
    """Per standardised identifier, whether it is present and passes ``check`` (a bool array).

    "none" verifies every present identifier. Vectorised (Arrow, then NumPy per identifier
    length), so that a million ids cost a fraction of a second; strings of the wrong form
    (letters in a Luhn id, an X anywhere but last) fail.
    """
    if check not in IDENTIFIER_CHECKS:
        raise InputError(f"unknown identifier check {check!r}; known: {', '.join(IDENTIFIER_CHECKS)}")
    if isinstance(identifiers, pa.ChunkedArray):
        array = identifiers.combine_chunks()
    elif isinstance(identifiers, pa.Array):
        array = identifiers
    elif isinstance(identifiers, pd.Series):  # NaN / NA (pandas' missing values) count as missing
        array = pa.array(identifiers.astype(object), pa.string(), from_pandas=True)
    else:
        array = pa.array([None if v is None or pd.isna(v) else str(v) for v in identifiers], pa.string())
    array = array.cast(pa.string())
    present = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if check == "none":
        return present
    result = np.zeros(len(array), dtype=bool)
    well_formed = pc.fill_null(pc.match_substring_regex(array, _CHECK_FORMS[check]), False)
    lengths = pc.fill_null(pc.utf8_length(array), 0).to_numpy(zero_copy_only=False)
    candidates = np.asarray(well_formed.to_numpy(zero_copy_only=False), dtype=bool)
    for length in np.unique(lengths[candidates]):
        rows = np.flatnonzero(candidates & (lengths == length))
        text = "".join(array.take(pa.array(rows)).to_pylist()).encode("ascii")
        codes = np.frombuffer(text, dtype=np.uint8).reshape(len(rows), int(length)).astype(np.int64)
        # Position 0 is the rightmost character (the check character) in both schemes.
        digits = np.where(codes == ord("X"), 10, codes - ord("0"))[:, ::-1]
        result[rows] = _luhn_ok(digits) if check == "luhn" else _mod11_2_ok(digits)
    return result


def _luhn_ok(digits: np.ndarray) -> np.ndarray:
    """Luhn: every second digit from the right doubled (digit sum), the total divisible by 10."""
    doubled = digits[:, 1::2] * 2
    doubled = doubled - 9 * (doubled > 9)
    return (digits[:, 0::2].sum(axis=1) + doubled.sum(axis=1)) % 10 == 0


def _mod11_2_ok(digits: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 11-2 (pure system, radix 2): sum of value * 2**position is 1 modulo 11."""
    weights = np.array([pow(2, position, 11) for position in range(digits.shape[1])], dtype=np.int64)
    return (digits @ weights) % 11 == 1


def luhn_valid(identifier: str) -> bool:
    """Whether a standardised identifier (digits only) carries a correct Luhn check digit."""
    return bool(passes_check([identifier], "luhn")[0])


def mod11_2_valid(identifier: str) -> bool:
    """Whether a standardised identifier carries a correct ISO 7064 MOD 11-2 check character."""
    return bool(passes_check([identifier], "mod11-2")[0])


def verified_identifiers(records: pa.Table, check: IdentifierCheck) -> np.ndarray:
    """Per record, whether its identifier is verified under ``check``.

    Reads the column standardise() computed when there is one, and checks the ``identifier``
    column itself otherwise (tables assembled by hand, e.g. in tests).
    """
    column = CHECK_COLUMNS.get(check)
    if column is not None and column in records.column_names:
        return np.asarray(records.column(column).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    return passes_check(records.column("identifier"), check)


def _add_identifier_checks(table: pa.Table) -> pa.Table:
    identifiers = table.column("identifier")
    missing = np.asarray(identifiers.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    for check, column in CHECK_COLUMNS.items():
        valid = pa.array(passes_check(identifiers, check), pa.bool_(), mask=missing)  # type: ignore[arg-type]
        table = table.append_column(column, valid)
    return table
