"""Tabular sources: CSV and Excel exports converted to FHIR by declarative mappings.

A mapping (YAML; see ``mapping`` and ``docs/sources.md``) declares columns with
types and formats, code tables, units and conversions, and per row the FHIR resources to
make. The same mapping engine serves the database import (``medlake.sources.database``).
"""

from medlake.sources.tabular.files import ingest_csv, ingest_excel
from medlake.sources.tabular.mapping import (
    Mapping,
    MappingError,
    TableMapping,
    load_mapping,
    shipped_mappings,
)

__all__ = [
    "Mapping",
    "MappingError",
    "TableMapping",
    "ingest_csv",
    "ingest_excel",
    "load_mapping",
    "shipped_mappings",
]
