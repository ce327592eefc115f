"""Ingestion: deliveries from any source → the raw layer and the quarantine, reconciled per batch.

``pipeline`` runs a job (orchestration); ``groups`` commits deliveries together; ``workers`` is the
pool that examines records (``examine``); ``accepted``, ``written`` and ``spill`` keep a group's rows
and files; ``key_queries`` are the questions a commit asks from keys alone; ``batches`` and
``institutions`` are the batch's id and report and the institution id's rule.
"""

from medlake.ingest.batches import BatchOutcome, BatchReport, ProgressCallback
from medlake.ingest.delivery import Delivery, file_delivery, institution_folders
from medlake.ingest.institutions import INSTITUTION_PATTERN, check_institution
from medlake.ingest.pipeline import ingest_deliveries, ingest_path, ingest_paths

__all__ = [
    "INSTITUTION_PATTERN",
    "BatchOutcome",
    "BatchReport",
    "Delivery",
    "ProgressCallback",
    "check_institution",
    "file_delivery",
    "ingest_deliveries",
    "ingest_path",
    "ingest_paths",
    "institution_folders",
]
