"""Code translations v2 → FHIR R4, from the HL7 Version 2 to FHIR IG's concept maps.

Where the IG maps a code, that mapping is used (AdministrativeSex, PatientClass,
ObservationResultStatusCodesInterpretation, ResultStatus, NameType, AddressType,
TelecommunicationUseCode/EquipmentType, MaritalStatus). Where the IG leaves a v2 code
unmapped, the choice made here is noted beside it. Coding system names (HL7 table 0396)
become the canonical FHIR system URIs; names with no agreed URI are left without a system
rather than given an invented one.
"""

from __future__ import annotations

import re

V2_TABLE = "http://terminology.hl7.org/CodeSystem/v2-{:04d}"
V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
V3_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
V3_MARITAL = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
UCUM = "http://unitsofmeasure.org"

#: HL7 table 0396 coding system names → FHIR system URIs.
CODING_SYSTEMS = {
    "LN": "http://loinc.org",
    "LOINC": "http://loinc.org",
    "SCT": "http://snomed.info/sct",
    "SNM": "http://snomed.info/sct",
    "SNOMED": "http://snomed.info/sct",
    "SNOMED-CT": "http://snomed.info/sct",
    "I10": "http://hl7.org/fhir/sid/icd-10",
    "ICD10": "http://hl7.org/fhir/sid/icd-10",
    "I10C": "http://hl7.org/fhir/sid/icd-10-cm",
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "I9": "http://hl7.org/fhir/sid/icd-9-cm",
    "I9C": "http://hl7.org/fhir/sid/icd-9-cm",
    "I9CDX": "http://hl7.org/fhir/sid/icd-9-cm",
    "C4": "http://www.ama-assn.org/go/cpt",
    "CPT": "http://www.ama-assn.org/go/cpt",
    "UCUM": UCUM,
    "RXNORM": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "CVX": "http://hl7.org/fhir/sid/cvx",
    "NDC": "http://hl7.org/fhir/sid/ndc",
    "CDCREC": "urn:oid:2.16.840.1.113883.6.238",
    "DCM": "http://dicom.nema.org/resources/ontology/DCM",
    "ISO3166_1": "urn:iso:std:iso:3166",
    "ISO639": "urn:ietf:bcp:47",
}
_HL7_TABLE = re.compile(r"^HL7(\d{4})$")

ADMINISTRATIVE_SEX = {"F": "female", "M": "male", "O": "other", "U": "unknown", "A": "other", "N": "other"}

#: PV1-2 → Encounter.class (system, code, display).
PATIENT_CLASS = {
    "E": (V3_ACT_CODE, "EMER", "emergency"),
    "I": (V3_ACT_CODE, "IMP", "inpatient encounter"),
    "O": (V3_ACT_CODE, "AMB", "ambulatory"),
    "P": (V3_ACT_CODE, "PRENC", "pre-admission"),
    "R": (V2_TABLE.format(4), "R", "Recurring patient"),
    "B": (V2_TABLE.format(4), "B", "Obstetrics"),
    "C": (V2_TABLE.format(4), "C", "Commercial Account"),
    "N": (V2_TABLE.format(4), "N", "Not Applicable"),
    "U": (V2_TABLE.format(4), "U", "Unknown"),
}
#: PV1-2 → Encounter.status when PV1-45 (discharge) is not valued.
PATIENT_CLASS_STATUS = {"P": "planned", "U": "unknown"}  # every other class: in-progress

#: OBX-11 → Observation.status. IG-mapped: A C D F P W X. Not mapped by the IG, chosen here:
#: B (appended) → amended; I (specimen in lab) and O (order detail only) → registered;
#: R (not verified) and S (partial) → preliminary; U (changed to final) and V (verified) → final;
#: N (not asked) → cancelled, with dataAbsentReason not-asked as the IG gives.
OBSERVATION_STATUS = {
    "A": "amended",
    "B": "amended",
    "C": "corrected",
    "D": "entered-in-error",
    "F": "final",
    "I": "registered",
    "N": "cancelled",
    "O": "registered",
    "P": "preliminary",
    "R": "preliminary",
    "S": "preliminary",
    "U": "final",
    "V": "final",
    "W": "entered-in-error",
    "X": "cancelled",
}
#: OBX-11 codes that also mean "there is no value, and why".
OBSERVATION_ABSENT = {"N": "not-asked", "X": "not-performed"}

#: OBR-25 → DiagnosticReport.status. IG-mapped except A (some results) → partial and
#: M (corrected, not final) → corrected, N (done, results pending) → registered; Y and Z
#: ("no order"/"no patient on record") are errors per the IG and so are not here.
REPORT_STATUS = {
    "O": "registered",
    "I": "registered",
    "S": "registered",
    "A": "partial",
    "P": "preliminary",
    "C": "corrected",
    "M": "corrected",
    "R": "partial",
    "F": "final",
    "X": "cancelled",
    "N": "registered",
}

NAME_USE = {
    "BAD": "old",
    "D": "usual",
    "L": "official",
    "M": "maiden",
    "MSK": "anonymous",
    "N": "nickname",
    "NAV": "temp",
    "R": "official",
    "TEMP": "temp",
}
ADDRESS_USE = {"BA": "old", "BI": "billing", "C": "temp", "B": "work", "H": "home", "O": "work"}
ADDRESS_TYPE = {"M": "postal", "SH": "postal"}
TELECOM_USE = {"PRN": "home", "WPN": "work", "PRS": "mobile"}
#: XTN-3 → (ContactPoint.system, ContactPoint.use or None).
TELECOM_EQUIPMENT = {
    "PH": ("phone", None),
    "FX": ("fax", None),
    "MD": ("other", None),
    "CP": ("phone", "mobile"),
    "SAT": ("other", None),
    "BP": ("pager", None),
    "INTERNET": ("email", None),
    "X.400": ("email", None),
    "TDD": ("other", None),
    "TTY": ("other", None),
}
MARITAL_STATUS = {
    "A": (V3_MARITAL, "L", "Legally Separated"),
    "D": (V3_MARITAL, "D", "Divorced"),
    "M": (V3_MARITAL, "M", "Married"),
    "S": (V3_MARITAL, "S", "Never Married"),
    "W": (V3_MARITAL, "W", "Widowed"),
    "C": (V3_MARITAL, "C", "Common Law"),
    "G": (V3_MARITAL, "T", "Domestic partner"),
    "P": (V3_MARITAL, "T", "Domestic partner"),
    "R": (V3_MARITAL, "T", "Domestic partner"),
    "E": (V3_MARITAL, "L", "Legally Separated"),
    "N": (V3_MARITAL, "A", "Annulled"),
    "I": (V3_MARITAL, "I", "Interlocutory"),
    "B": (V3_MARITAL, "U", "unmarried"),
    "U": (V3_NULL_FLAVOR, "UNK", "Unknown"),
    "O": (V3_NULL_FLAVOR, "OTH", "Other"),
    "T": (V3_NULL_FLAVOR, "NAVU", "Not available"),
}
#: HL7 table 0078 interpretation codes that exist unchanged in v3 ObservationInterpretation.
INTERPRETATION_CODES = frozenset(
    [
        "L",
        "H",
        "LL",
        "HH",
        "<",
        ">",
        "N",
        "A",
        "AA",
        "U",
        "D",
        "B",
        "W",
        "S",
        "R",
        "I",
        "MS",
        "VS",
        "POS",
        "NEG",
        "IND",
        "DET",
        "ND",
        "LU",
        "HU",
        "NR",
        "RR",
        "SYN-R",
        "SYN-S",
        "EX",
        "HX",
        "LX",
    ]
)


def coding_system(name: str) -> str | None:
    """The FHIR system URI for a v2 coding system name (``LN``, ``HL70078``…), or None."""
    key = name.strip().upper()
    if not key:
        return None
    if key in CODING_SYSTEMS:
        return CODING_SYSTEMS[key]
    table = _HL7_TABLE.match(key)
    return V2_TABLE.format(int(table[1])) if table else None
