"""The person-record table the linker accepts, and the checks that keep bad input out.

Linkage silently degrades on malformed input (a date in the wrong format is just "another date"),
so the contract is checked up front: required id column, unique ids, known field names, and a
precise error when a value cannot be understood.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import pyarrow as pa

from medlake.errors import InputError

#: The person fields the model compares, in the order used everywhere (docs, CLI, evaluation).
PERSON_FIELDS: tuple[str, ...] = (
    "given",
    "family",
    "birth_date",
    "sex",
    "address",
    "city",
    "postcode",
    "state",
    "phone",
    "identifier",
)
ID_COLUMN = "record_id"
SOURCE_COLUMN = "source"

PersonTable = pd.DataFrame | pa.Table


class RecordError(InputError):
    """The person records cannot be linked as given (missing column, duplicate id, bad value)."""


def to_arrow(records: PersonTable) -> pa.Table:
    """Accept pandas or Arrow; the linker works on Arrow so that DuckDB reads it without copies."""
    if isinstance(records, pa.Table):
        return records
    if isinstance(records, pd.DataFrame):
        return pa.Table.from_pandas(records, preserve_index=False)
    raise TypeError(f"person records must be a pandas DataFrame or a pyarrow Table, got {type(records)}")


def check_record_ids(table: pa.Table) -> None:
    """Every record needs a present, unique id: clusters and review items refer to it."""
    if ID_COLUMN not in table.column_names:
        raise RecordError(f"person records need a '{ID_COLUMN}' column; columns are {table.column_names}")
    ids = table.column(ID_COLUMN)
    if ids.null_count:
        raise RecordError(f"{ids.null_count} person record(s) have no {ID_COLUMN}")
    counts = pa.compute.value_counts(ids.cast(pa.string()))
    repeated = [c["values"] for c in counts.to_pylist() if c["counts"] > 1]
    if repeated:
        raise RecordError(f"{len(repeated)} {ID_COLUMN} value(s) occur more than once, e.g. {repeated[:5]}")


def apply_field_map(frame: pd.DataFrame, field_map: Mapping[str, str], id_column: str | None) -> pd.DataFrame:
    """Rename a foreign table's columns to the person fields.

    A field may be assembled from several columns joined with "+" (FEBRL splits the address
    into street_number + address_1 + address_2); their non-empty parts are joined by spaces.
    ``id_column`` None numbers the rows, which is what a CSV without an id needs.
    """
    unknown = sorted(set(field_map) - set(PERSON_FIELDS) - {ID_COLUMN, SOURCE_COLUMN})
    if unknown:
        raise RecordError(f"unknown person field(s) {unknown}; known fields are {list(PERSON_FIELDS)}")
    out = pd.DataFrame(index=frame.index)
    if id_column is None:
        out[ID_COLUMN] = [str(i) for i in range(len(frame))]
    else:
        _require_columns(frame, [id_column])
        out[ID_COLUMN] = frame[id_column].astype("string")
    for field_name, spec in field_map.items():
        columns = [c.strip() for c in spec.split("+") if c.strip()]
        if not columns:
            raise RecordError(f"field {field_name!r} is mapped to no column")
        _require_columns(frame, columns)
        if len(columns) == 1:
            out[field_name] = frame[columns[0]]
        else:
            joined = frame[columns[0]].astype("string").fillna("")
            for column in columns[1:]:
                joined = joined.str.cat(frame[column].astype("string").fillna(""), sep=" ")
            joined = joined.str.replace(r"\s+", " ", regex=True).str.strip()
            out[field_name] = joined.mask(joined == "")
    return out.reset_index(drop=True)


def _require_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RecordError(f"column(s) {missing} not found; the table has {list(frame.columns)}")
