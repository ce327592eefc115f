"""Ingestion: deliveries from any source → the raw layer and the quarantine, reconciled per batch."""

from medlake.ingest.delivery import Delivery, file_delivery, institution_folders
from medlake.ingest.pipeline import BatchReport, ingest_deliveries, ingest_path, ingest_paths

__all__ = [
    "BatchReport",
    "Delivery",
    "file_delivery",
    "ingest_deliveries",
    "ingest_path",
    "ingest_paths",
    "institution_folders",
]
