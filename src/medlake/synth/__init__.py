"""``medlake synth``: a deterministic synthetic region to demo, test and benchmark the platform.

A fictional region (Lakeland) with two hospitals, three community health centres and a
public-health agency, each exporting FHIR R4 NDJSON with its own patient ids and habits, plus
the ground truth (who is who, outbreaks, deteriorations) that the platform must rediscover.
See ``docs/synth.md``.
"""

from medlake.synth.institutions import INSTITUTIONS, Institution
from medlake.synth.region import RegionSummary, generate_region
from medlake.synth.sizing import estimate_resources, residents_for_resources

__all__ = [
    "INSTITUTIONS",
    "Institution",
    "RegionSummary",
    "estimate_resources",
    "generate_region",
    "residents_for_resources",
]
