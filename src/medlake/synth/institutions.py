"""The region's six institutions and the local habits that make their data disagree.

Every institution runs its own system: its own patient id style, medical-record-number system
URI, coding habits (SNOMED CT vs ICD-10, RxNorm vs ATC), phone formatting and data-entry quality.
Those habits, not random noise, are what the platform's linkage and terminology layers must
reconcile, so they are declared here as data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

InstitutionKind = Literal["hospital", "community-health-centre", "public-health-agency"]
IdStyle = Literal["uuid", "numeric", "prefixed"]
PhoneStyle = Literal["national", "dashed", "international", "digits"]

NATIONAL_ID_SYSTEM = "http://example.org/fhir/sid/national-id"
#: A legacy OID some systems still send the national id under (2.999 is the ITU example arc).
LEGACY_NATIONAL_ID_SYSTEM = "urn:oid:2.999.7.1.1"
COUNTRY_CALLING_CODE = "+99"


@dataclass(frozen=True, slots=True)
class Institution:
    """One data source of the region.

    ``national_id_share`` is the share of its patient records that carry the national id;
    ``legacy_national_id_share`` the share of those filed under the legacy system URI.
    ``clerk_error_rate`` scales every demographic variation (typos, nicknames, missing data).
    """

    id: str
    name: str
    kind: InstitutionKind
    mrn_system: str
    id_style: IdStyle
    id_prefix: str
    mrn_prefix: str
    national_id_share: float
    legacy_national_id_share: float
    condition_systems: tuple[str, ...]
    medication_systems: tuple[str, ...]
    local_lab_system: str | None
    phone_style: PhoneStyle
    abbreviates_streets: bool
    clerk_error_rate: float
    practitioners: int

    @property
    def is_hospital(self) -> bool:
        return self.kind == "hospital"

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "mrn_system": self.mrn_system}


INSTITUTIONS: tuple[Institution, ...] = (
    Institution(
        id="hosp-north",
        name="North Lakeland General Hospital",
        kind="hospital",
        mrn_system="http://hosp-north.example.org/fhir/sid/mrn",
        id_style="uuid",
        id_prefix="",
        mrn_prefix="N",
        national_id_share=0.92,
        legacy_national_id_share=0.0,
        condition_systems=("icd10", "snomed"),
        medication_systems=("atc", "rxnorm"),
        local_lab_system=None,
        phone_style="international",
        abbreviates_streets=False,
        clerk_error_rate=1.0,
        practitioners=24,
    ),
    Institution(
        id="hosp-south",
        name="Southport District Hospital",
        kind="hospital",
        mrn_system="urn:oid:2.999.1.2.1",
        id_style="numeric",
        id_prefix="",
        mrn_prefix="",
        national_id_share=0.78,
        legacy_national_id_share=0.35,
        condition_systems=("icd10",),
        medication_systems=("atc",),
        local_lab_system="urn:oid:2.999.1.2.9",
        phone_style="digits",
        abbreviates_streets=True,
        clerk_error_rate=1.4,
        practitioners=18,
    ),
    Institution(
        id="chc-east",
        name="Eastmere Community Health Centre",
        kind="community-health-centre",
        mrn_system="http://chc-east.example.org/patients",
        id_style="prefixed",
        id_prefix="CE",
        mrn_prefix="CE-",
        national_id_share=0.0,
        legacy_national_id_share=0.0,
        condition_systems=("snomed",),
        medication_systems=("rxnorm",),
        local_lab_system=None,
        phone_style="national",
        abbreviates_streets=False,
        clerk_error_rate=0.8,
        practitioners=7,
    ),
    Institution(
        id="chc-west",
        name="Westhaven Community Health Centre",
        kind="community-health-centre",
        mrn_system="http://chc-west.example.org/fhir/NamingSystem/patient-number",
        id_style="prefixed",
        id_prefix="W-",
        mrn_prefix="W",
        national_id_share=0.35,
        legacy_national_id_share=0.0,
        condition_systems=("snomed", "icd10"),
        medication_systems=("atc",),
        local_lab_system="http://chc-west.example.org/lab-codes",
        phone_style="dashed",
        abbreviates_streets=True,
        clerk_error_rate=1.2,
        practitioners=6,
    ),
    Institution(
        id="chc-central",
        name="Lakeford Central Health Centre",
        kind="community-health-centre",
        mrn_system="http://chc-central.example.org/fhir/sid/mrn",
        id_style="uuid",
        id_prefix="",
        mrn_prefix="LC",
        national_id_share=0.55,
        legacy_national_id_share=0.0,
        condition_systems=("snomed",),
        medication_systems=("rxnorm", "atc"),
        local_lab_system=None,
        phone_style="national",
        abbreviates_streets=False,
        clerk_error_rate=1.0,
        practitioners=9,
    ),
    Institution(
        id="cdc-region",
        name="Lakeland Regional Public Health Agency",
        kind="public-health-agency",
        mrn_system="http://cdc-region.example.org/fhir/sid/registry-number",
        id_style="prefixed",
        id_prefix="IR",
        mrn_prefix="IR",
        national_id_share=0.96,
        legacy_national_id_share=0.0,
        condition_systems=("icd10",),
        medication_systems=("atc",),
        local_lab_system=None,
        phone_style="international",
        abbreviates_streets=False,
        clerk_error_rate=0.6,
        practitioners=3,
    ),
)

INSTITUTION_BY_ID: dict[str, Institution] = {inst.id: inst for inst in INSTITUTIONS}
HOSPITALS: tuple[Institution, ...] = tuple(i for i in INSTITUTIONS if i.kind == "hospital")
HEALTH_CENTRES: tuple[Institution, ...] = tuple(
    i for i in INSTITUTIONS if i.kind == "community-health-centre"
)
PUBLIC_HEALTH: Institution = INSTITUTION_BY_ID["cdc-region"]


def format_phone(canonical: str, style: PhoneStyle) -> str:
    """Render a 10-digit national number the way an institution's system stores it."""
    if style == "digits":
        return canonical
    if style == "dashed":
        return f"{canonical[:3]}-{canonical[3:6]}-{canonical[6:]}"
    if style == "international":
        return f"{COUNTRY_CALLING_CODE} {canonical[1:3]} {canonical[3:6]} {canonical[6:]}"
    return f"{canonical[:3]} {canonical[3:6]} {canonical[6:]}"
