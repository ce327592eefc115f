"""How many residents make a region of a given size in resources (the benchmarks think in resources).

The average number of resources per resident is a property of the generator's rates, not of the
seed or the region size (residents are drawn independently), so it is measured once on a large
region and recorded here; ``tests/synth`` checks the estimate against a real run.
"""

from __future__ import annotations

import math

from medlake.synth.institutions import INSTITUTIONS

#: Mean resources (lines, newer versions included) per resident, measured on 20,000 residents.
RESOURCES_PER_RESIDENT = 76.8
#: Organization and Practitioner resources written once per region.
FIXED_RESOURCES = sum(1 + inst.practitioners for inst in INSTITUTIONS)


def estimate_resources(residents: int) -> int:
    """Expected number of resources in a region of ``residents`` residents."""
    if residents < 0:
        raise ValueError(f"residents must not be negative, got {residents}")
    return FIXED_RESOURCES + round(residents * RESOURCES_PER_RESIDENT)


def residents_for_resources(resources: int) -> int:
    """Residents needed for a region of about ``resources`` resources (at least one resident)."""
    if resources < 1:
        raise ValueError(f"resources must be positive, got {resources}")
    return max(1, math.ceil((resources - FIXED_RESOURCES) / RESOURCES_PER_RESIDENT))
