"""The master patient index core: probabilistic record linkage of person records with Splink.

Typical use::

    from medlake.link import LinkSettings, link_records
    result = link_records(records, LinkSettings(match_threshold=0.95))
    result.clusters   # record_id -> person_id
    result.review     # pairs for a clerk, with result.scores.evidence(row) for each

For incremental linking, train once (``LinkageModel.train``), save/load it, and score new
records against existing ones with ``LinkageModel.score_new``.
"""

from medlake.link.decisions import Decision, Reason, decide
from medlake.link.evaluate import EvaluationResult, evaluate_csv, evaluate_frame, evaluate_linkage
from medlake.link.linking import LinkResult, link_records
from medlake.link.model import LinkageModel
from medlake.link.records import PERSON_FIELDS, RecordError
from medlake.link.scores import Evidence, PairScores
from medlake.link.settings import LinkSettings
from medlake.link.standardise import standardise

__all__ = [
    "PERSON_FIELDS",
    "Decision",
    "EvaluationResult",
    "Evidence",
    "LinkResult",
    "LinkSettings",
    "LinkageModel",
    "PairScores",
    "Reason",
    "RecordError",
    "decide",
    "evaluate_csv",
    "evaluate_frame",
    "evaluate_linkage",
    "link_records",
    "standardise",
]
