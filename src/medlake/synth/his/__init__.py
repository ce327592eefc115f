"""A demo hospital information system: a relational schema, a seeded filler, and daily changes.

It gives the SQL import (``medlake ingest sql``, the "Sqoop job") something realistic to
read on any database SQLAlchemy reaches: local codes that need code tables, results in
units that need converting, rows that change between runs. The shipped mapping
``his-demo`` (``medlake/sources/tabular/mappings/his-demo.yaml``) turns it into FHIR R4.
"""

from medlake.synth.his.filler import HisSummary, apply_changes, create_and_fill

__all__ = ["HisSummary", "apply_changes", "create_and_fill"]
