"""The region's towns: where people live decides which health centre and hospital they use.

Catchments are what make the region realistic for linkage and surveillance at once: a move
between towns can re-register a person at another health centre, and a point-source outbreak
is local to one town.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

REGION_NAME = "Lakeland"
STATE = "LK"
COUNTRY = "XL"  # user-assigned ISO 3166 code: the region is fictional


@dataclass(frozen=True, slots=True)
class Town:
    """A town of the region and the institutions that serve it."""

    name: str
    share: float  # of the region's residents
    postcode_prefix: str
    area_code: str
    health_centre: str
    hospital: str


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address as a person would give it at a registration desk."""

    line: str
    town: str
    postal_code: str


TOWNS: tuple[Town, ...] = (
    Town("Lakeford", 0.28, "410", "041", "chc-central", "hosp-north"),
    Town("Northby", 0.10, "420", "042", "chc-central", "hosp-north"),
    Town("Eastmere", 0.14, "430", "043", "chc-east", "hosp-north"),
    Town("Fernvale", 0.06, "435", "043", "chc-east", "hosp-north"),
    Town("Ashbourne", 0.08, "440", "044", "chc-east", "hosp-south"),
    Town("Westhaven", 0.14, "450", "045", "chc-west", "hosp-south"),
    Town("Millbrook", 0.08, "460", "046", "chc-west", "hosp-south"),
    Town("Southport", 0.12, "470", "047", "chc-west", "hosp-south"),
)
TOWN_BY_NAME: dict[str, Town] = {town.name: town for town in TOWNS}
_TOWN_WEIGHTS = [town.share for town in TOWNS]

# fmt: off
_STREETS: tuple[str, ...] = (
    "Main", "High", "Church", "Mill", "Station", "Park", "Victoria", "Green", "Manor", "Kings",
    "Queens", "Grange", "Meadow", "Orchard", "Chestnut", "Oak", "Elm", "Willow", "Birch", "Maple",
    "Cedar", "Ash", "Lime", "Beech", "Poplar", "Hawthorn", "Rowan", "Linden", "Harbour", "Bridge",
    "River", "Lake", "Hill", "Valley", "Forest", "Spring", "Brook", "Wharf", "Castle", "Abbey",
    "School", "Market", "Garden", "Union", "Albert", "George", "North", "South", "West", "East",
    "Broad", "Long", "New", "Old Mill", "Fairview", "Highfield", "Woodland", "Sunnyside", "Riverside",
    "Lakeside",
)
_STREET_KINDS: tuple[str, ...] = ("Street", "Road", "Lane", "Avenue", "Close", "Way", "Drive", "Crescent")
#: How each street kind is abbreviated on forms that are typed in a hurry.
STREET_ABBREVIATIONS: dict[str, str] = {
    "Street": "St", "Road": "Rd", "Lane": "Ln", "Avenue": "Ave", "Close": "Cl", "Way": "Wy",
    "Drive": "Dr", "Crescent": "Cres",
}
# fmt: on


def pick_town(rng: random.Random) -> Town:
    """A town, weighted by population share."""
    return rng.choices(TOWNS, weights=_TOWN_WEIGHTS)[0]


def pick_other_town(rng: random.Random, current: Town) -> Town:
    """A destination for someone who moves: usually within the region, never the same town."""
    while True:
        town = pick_town(rng)
        if town is not current:
            return town


def new_address(rng: random.Random, town: Town) -> Address:
    """A plausible street address in ``town``."""
    number = rng.randrange(1, 240)
    line = f"{number} {rng.choice(_STREETS)} {rng.choice(_STREET_KINDS)}"
    if rng.random() < 0.12:
        line += f", Apt {rng.randrange(1, 40)}"
    return Address(line, town.name, town.postcode_prefix + f"{rng.randrange(0, 100):02d}")


def new_phone(rng: random.Random, town: Town, mobile: bool) -> str:
    """Canonical national phone number: 10 digits, leading zero."""
    if mobile:
        return f"07{rng.randrange(10, 100)}{rng.randrange(0, 1_000_000):06d}"
    return f"{town.area_code}{rng.randrange(2, 10)}{rng.randrange(0, 1_000_000):06d}"
