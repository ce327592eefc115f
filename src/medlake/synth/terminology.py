"""Standard codes used by the region (SNOMED CT, ICD-10, LOINC, UCUM, RxNorm, ATC, CVX).

A clinical idea is a :class:`Concept` that knows its code in several systems; each institution
asks for the systems it uses (a hospital codes diagnoses in ICD-10 for billing, a health centre
in SNOMED CT), so the same diagnosis reaches the lake coded differently per source, as it does in
real regions.  CodeableConcept dicts are built once per (concept, systems) and shared, which keeps
the generator fast; callers must never mutate them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
CVX = "http://hl7.org/fhir/sid/cvx"

SYSTEM_URIS: dict[str, str] = {
    "snomed": SNOMED,
    "icd10": ICD10,
    "loinc": LOINC,
    "rxnorm": RXNORM,
    "atc": ATC,
    "cvx": CVX,
}

FhirDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Concept:
    """A clinical idea with its codes: ``codes`` maps a system key to ``(code, display)``."""

    text: str
    codes: dict[str, tuple[str, str]]
    _cache: dict[tuple[str, ...], FhirDict] = field(default_factory=dict, compare=False, repr=False)

    def code(self, system: str) -> str:
        return self.codes[system][0]

    def codeable(self, systems: tuple[str, ...] | None = None) -> FhirDict:
        """A shared CodeableConcept with the codings of ``systems`` (all systems if none match)."""
        key = systems or ()
        cached = self._cache.get(key)
        if cached is None:
            chosen = [s for s in key if s in self.codes] or list(self.codes)
            cached = {
                "coding": [
                    {"system": SYSTEM_URIS[s], "code": self.codes[s][0], "display": self.codes[s][1]}
                    for s in chosen
                ],
                "text": self.text,
            }
            self._cache[key] = cached
        return cached


def _concept(text: str, **codes: tuple[str, str]) -> Concept:
    return Concept(text, codes)


def category(system: str, code: str, display: str) -> list[FhirDict]:
    """A one-coding ``category`` list (shared constant)."""
    return [{"coding": [{"system": system, "code": code, "display": display}]}]


# ----------------------------------------------------------------------------- conditions
HYPERTENSION = _concept(
    "Hypertension",
    snomed=("59621000", "Essential hypertension (disorder)"),
    icd10=("I10", "Essential (primary) hypertension"),
)
DIABETES_T2 = _concept(
    "Type 2 diabetes mellitus",
    snomed=("44054006", "Diabetes mellitus type 2 (disorder)"),
    icd10=("E11.9", "Type 2 diabetes mellitus without complications"),
)
ATRIAL_FIBRILLATION = _concept(
    "Atrial fibrillation",
    snomed=("49436004", "Atrial fibrillation (disorder)"),
    icd10=("I48.9", "Atrial fibrillation and atrial flutter, unspecified"),
)
CORONARY_HEART_DISEASE = _concept(
    "Coronary heart disease",
    snomed=("414545008", "Ischemic heart disease (disorder)"),
    icd10=("I25.9", "Chronic ischaemic heart disease, unspecified"),
)
MYOCARDIAL_INFARCTION = _concept(
    "Acute myocardial infarction",
    snomed=("22298006", "Myocardial infarction (disorder)"),
    icd10=("I21.9", "Acute myocardial infarction, unspecified"),
)
STROKE = _concept(
    "Ischaemic stroke",
    snomed=("230690007", "Cerebrovascular accident (disorder)"),
    icd10=("I63.9", "Cerebral infarction, unspecified"),
)
HYPERLIPIDAEMIA = _concept(
    "Hyperlipidaemia",
    snomed=("55822004", "Hyperlipidemia (disorder)"),
    icd10=("E78.5", "Hyperlipidaemia, unspecified"),
)
CHRONIC_KIDNEY_DISEASE_3 = _concept(
    "Chronic kidney disease stage 3",
    snomed=("433144002", "Chronic kidney disease stage 3 (disorder)"),
    icd10=("N18.3", "Chronic kidney disease, stage 3"),
)
ASTHMA = _concept(
    "Asthma",
    snomed=("195967001", "Asthma (disorder)"),
    icd10=("J45.9", "Asthma, unspecified"),
)
OBESITY = _concept(
    "Obesity",
    snomed=("414916001", "Obesity (disorder)"),
    icd10=("E66.9", "Obesity, unspecified"),
)
INFLUENZA_LIKE_ILLNESS = _concept(
    "Influenza-like illness",
    snomed=("95891005", "Influenza-like illness (finding)"),
    icd10=("J11.1", "Influenza with other respiratory manifestations, virus not identified"),
)
INFLUENZA = _concept(
    "Influenza, laboratory confirmed",
    snomed=("6142004", "Influenza (disorder)"),
    icd10=("J10.1", "Influenza with other respiratory manifestations, seasonal influenza virus identified"),
)
UPPER_RESPIRATORY_INFECTION = _concept(
    "Upper respiratory tract infection",
    snomed=("54150009", "Upper respiratory infection (disorder)"),
    icd10=("J06.9", "Acute upper respiratory infection, unspecified"),
)
ACUTE_BRONCHITIS = _concept(
    "Acute bronchitis",
    snomed=("10509002", "Acute bronchitis (disorder)"),
    icd10=("J20.9", "Acute bronchitis, unspecified"),
)
GASTROENTERITIS = _concept(
    "Gastroenteritis",
    snomed=("25374005", "Gastroenteritis (disorder)"),
    icd10=("A09", "Other gastroenteritis and colitis of infectious and unspecified origin"),
)
SALMONELLOSIS = _concept(
    "Salmonellosis",
    snomed=("302231008", "Salmonella infection (disorder)"),
    icd10=("A02.0", "Salmonella enteritis"),
)
COVID_19 = _concept(
    "COVID-19",
    snomed=("840539006", "Disease caused by severe acute respiratory syndrome coronavirus 2 (disorder)"),
    icd10=("U07.1", "COVID-19, virus identified"),
)
PNEUMONIA = _concept(
    "Pneumonia",
    snomed=("233604007", "Pneumonia (disorder)"),
    icd10=("J18.9", "Pneumonia, unspecified"),
)
SEPSIS = _concept(
    "Sepsis",
    snomed=("91302008", "Sepsis (disorder)"),
    icd10=("A41.9", "Sepsis, unspecified"),
)
URINARY_TRACT_INFECTION = _concept(
    "Urinary tract infection",
    snomed=("68566005", "Urinary tract infectious disease (disorder)"),
    icd10=("N39.0", "Urinary tract infection, site not specified"),
)
OTITIS_MEDIA = _concept(
    "Otitis media",
    snomed=("65363002", "Otitis media (disorder)"),
    icd10=("H66.9", "Otitis media, unspecified"),
)
FRACTURE_OF_FOREARM = _concept(
    "Fracture of forearm",
    snomed=("65966004", "Fracture of forearm (disorder)"),
    icd10=("S52.9", "Fracture of forearm, part unspecified"),
)
SPRAIN_OF_ANKLE = _concept(
    "Sprain of ankle",
    snomed=("44465007", "Sprain of ankle (disorder)"),
    icd10=("S93.4", "Sprain and strain of ankle"),
)
LACERATION_OF_HAND = _concept(
    "Laceration of hand",
    snomed=("284549007", "Laceration of hand (disorder)"),
    icd10=("S61.9", "Open wound of wrist and hand, part unspecified"),
)
CONCUSSION = _concept(
    "Concussion",
    snomed=("62106007", "Concussion with no loss of consciousness (disorder)"),
    icd10=("S06.0", "Concussion"),
)
OSTEOARTHRITIS_OF_KNEE = _concept(
    "Osteoarthritis of knee",
    snomed=("239873007", "Osteoarthritis of knee (disorder)"),
    icd10=("M17.9", "Gonarthrosis, unspecified"),
)
CATARACT = _concept(
    "Cataract",
    snomed=("193570009", "Cataract (disorder)"),
    icd10=("H26.9", "Cataract, unspecified"),
)

# ----------------------------------------------------------------------------- encounters
ENCOUNTER_CLASS_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CLASS_AMBULATORY = {"system": ENCOUNTER_CLASS_SYSTEM, "code": "AMB", "display": "ambulatory"}
CLASS_EMERGENCY = {"system": ENCOUNTER_CLASS_SYSTEM, "code": "EMER", "display": "emergency"}
CLASS_INPATIENT = {"system": ENCOUNTER_CLASS_SYSTEM, "code": "IMP", "display": "inpatient encounter"}
CLASS_VIRTUAL = {"system": ENCOUNTER_CLASS_SYSTEM, "code": "VR", "display": "virtual"}

ENCOUNTER_CHECK_UP = _concept("Check-up", snomed=("185349003", "Encounter for check up (procedure)"))
ENCOUNTER_FOLLOW_UP = _concept("Follow-up", snomed=("390906007", "Follow-up encounter (procedure)"))
ENCOUNTER_SYMPTOM = _concept(
    "Consultation for symptom", snomed=("185345009", "Encounter for symptom (procedure)")
)
ENCOUNTER_PROBLEM = _concept("Day case", snomed=("185347001", "Encounter for problem (procedure)"))
ENCOUNTER_WELL_CHILD = _concept("Well child visit", snomed=("410620009", "Well child visit (procedure)"))
ENCOUNTER_EMERGENCY = _concept(
    "Emergency department visit", snomed=("50849002", "Emergency room admission (procedure)")
)
ENCOUNTER_EMERGENCY_ADMISSION = _concept(
    "Emergency admission", snomed=("183452005", "Emergency hospital admission (procedure)")
)
ENCOUNTER_ELECTIVE_ADMISSION = _concept(
    "Elective surgical admission", snomed=("305408004", "Admission to surgical department (procedure)")
)

ADMIT_SOURCE_SYSTEM = "http://terminology.hl7.org/CodeSystem/admit-source"
ADMIT_FROM_EMERGENCY = {
    "coding": [
        {"system": ADMIT_SOURCE_SYSTEM, "code": "emd", "display": "From accident/emergency department"}
    ]
}
ADMIT_FROM_HOME = {
    "coding": [{"system": ADMIT_SOURCE_SYSTEM, "code": "gp", "display": "General Practitioner referral"}]
}
DISCHARGE_SYSTEM = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
DISCHARGED_HOME = {"coding": [{"system": DISCHARGE_SYSTEM, "code": "home", "display": "Home"}]}
DISCHARGED_DECEASED = {"coding": [{"system": DISCHARGE_SYSTEM, "code": "exp", "display": "Expired"}]}
DISCHARGED_REHAB = {"coding": [{"system": DISCHARGE_SYSTEM, "code": "rehab", "display": "Rehabilitation"}]}

# ----------------------------------------------------------------------------- observations
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
VITAL_SIGNS = category(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")
LABORATORY = category(OBSERVATION_CATEGORY, "laboratory", "Laboratory")
EXAM = category(OBSERVATION_CATEGORY, "exam", "Exam")


@dataclass(frozen=True, slots=True)
class Unit:
    """A UCUM unit: ``code`` is the UCUM expression, ``display`` what a chart prints."""

    code: str
    display: str


MM_HG = Unit("mm[Hg]", "mmHg")
PER_MINUTE = Unit("/min", "/min")
PERCENT = Unit("%", "%")
CELSIUS = Unit("Cel", "Cel")
KILOGRAM = Unit("kg", "kg")
CENTIMETRE = Unit("cm", "cm")
KG_PER_M2 = Unit("kg/m2", "kg/m2")
MG_PER_DL = Unit("mg/dL", "mg/dL")
MG_PER_L = Unit("mg/L", "mg/L")
EGFR_UNIT = Unit("mL/min/{1.73_m2}", "mL/min/1.73m2")
LITRE_PER_MINUTE = Unit("L/min", "L/min")
THOUSAND_PER_UL = Unit("10*3/uL", "10*3/uL")

BLOOD_PRESSURE_PANEL = _concept(
    "Blood pressure", loinc=("85354-9", "Blood pressure panel with all children optional")
)
SYSTOLIC_BP = _concept("Systolic blood pressure", loinc=("8480-6", "Systolic blood pressure"))
DIASTOLIC_BP = _concept("Diastolic blood pressure", loinc=("8462-4", "Diastolic blood pressure"))
HEART_RATE = _concept("Heart rate", loinc=("8867-4", "Heart rate"))
RESPIRATORY_RATE = _concept("Respiratory rate", loinc=("9279-1", "Respiratory rate"))
BODY_TEMPERATURE = _concept("Body temperature", loinc=("8310-5", "Body temperature"))
BODY_WEIGHT = _concept("Body weight", loinc=("29463-7", "Body weight"))
BODY_HEIGHT = _concept("Body height", loinc=("8302-2", "Body height"))
BMI = _concept("BMI", loinc=("39156-5", "Body mass index (BMI) [Ratio]"))
INHALED_OXYGEN_FLOW = _concept("Inhaled oxygen flow rate", loinc=("3151-8", "Inhaled oxygen flow rate"))
LEVEL_OF_RESPONSIVENESS = _concept("ACVPU", loinc=("67775-7", "Level of responsiveness"))
#: SpO2 carries both the vital-signs profile code and the pulse-oximetry code, as US Core asks.
OXYGEN_SATURATION: FhirDict = {
    "coding": [
        {"system": LOINC, "code": "2708-6", "display": "Oxygen saturation in Arterial blood"},
        {
            "system": LOINC,
            "code": "59408-5",
            "display": "Oxygen saturation in Arterial blood by Pulse oximetry",
        },
    ],
    "text": "SpO2",
}

GLUCOSE = _concept("Glucose", loinc=("2339-0", "Glucose [Mass/volume] in Blood"))
HBA1C = _concept("HbA1c", loinc=("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"))
TOTAL_CHOLESTEROL = _concept(
    "Total cholesterol", loinc=("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma")
)
HDL_CHOLESTEROL = _concept(
    "HDL cholesterol", loinc=("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma")
)
EGFR = _concept(
    "eGFR",
    loinc=(
        "33914-3",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma "
        "by Creatinine-based formula (MDRD)",
    ),
)
C_REACTIVE_PROTEIN = _concept("CRP", loinc=("1988-5", "C reactive protein [Mass/volume] in Serum or Plasma"))
LEUKOCYTES = _concept(
    "White cell count", loinc=("6690-2", "Leukocytes [#/volume] in Blood by Automated count")
)
SARS_COV_2_PCR = _concept(
    "SARS-CoV-2 PCR",
    loinc=(
        "94500-6",
        "SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory specimen by NAA with probe detection",
    ),
)
INFLUENZA_A_PCR = _concept(
    "Influenza A PCR",
    loinc=("92142-9", "Influenza virus A RNA [Presence] in Respiratory specimen by NAA with probe detection"),
)
INFLUENZA_B_PCR = _concept(
    "Influenza B PCR",
    loinc=("92141-1", "Influenza virus B RNA [Presence] in Respiratory specimen by NAA with probe detection"),
)
STOOL_CULTURE = _concept("Stool culture", loinc=("625-4", "Bacteria identified in Stool by Culture"))

#: Local lab codes some institutions send alongside (or instead of) LOINC.
LOCAL_LAB_CODES: dict[str, str] = {
    "2339-0": "GLU-B",
    "4548-4": "HBA1C",
    "2093-3": "CHOL",
    "2085-9": "HDL",
    "33914-3": "EGFR",
    "1988-5": "CRP",
    "6690-2": "WBC",
    "94500-6": "COV2-PCR",
    "92142-9": "FLUA-PCR",
    "92141-1": "FLUB-PCR",
    "625-4": "STOOL-CX",
}

DETECTED = {
    "coding": [{"system": SNOMED, "code": "260373001", "display": "Detected (qualifier value)"}],
    "text": "Detected",
}
NOT_DETECTED = {
    "coding": [{"system": SNOMED, "code": "260415000", "display": "Not detected (qualifier value)"}],
    "text": "Not detected",
}
SALMONELLA_ORGANISM = {
    "coding": [{"system": SNOMED, "code": "27268008", "display": "Genus Salmonella (organism)"}],
    "text": "Salmonella species",
}
NO_PATHOGEN_ISOLATED = {
    "coding": [{"system": SNOMED, "code": "264868006", "display": "No growth (qualifier value)"}],
    "text": "No enteric pathogens isolated",
}
#: ACVPU answers, ordered from alert to unresponsive (index = severity).
ACVPU_ANSWERS: tuple[FhirDict, ...] = tuple(
    {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": text}
    for code, display, text in (
        ("248234008", "Mentally alert (finding)", "Alert"),
        ("130987000", "Acute confusion (finding)", "New confusion"),
        ("300202002", "Responds to voice (finding)", "Voice"),
        ("450847001", "Responds to pain (finding)", "Pain"),
        ("422768004", "Unresponsive (finding)", "Unresponsive"),
    )
)

# ----------------------------------------------------------------------------- conditions (meta)
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ACTIVE = {"coding": [{"system": CONDITION_CLINICAL, "code": "active", "display": "Active"}]}
RESOLVED = {"coding": [{"system": CONDITION_CLINICAL, "code": "resolved", "display": "Resolved"}]}
CONFIRMED = {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed", "display": "Confirmed"}]}
PROVISIONAL = {
    "coding": [{"system": CONDITION_VERIFICATION, "code": "provisional", "display": "Provisional"}]
}
PROBLEM_LIST = category(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")
ENCOUNTER_DIAGNOSIS = category(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")

# ----------------------------------------------------------------------------- procedures
ELECTROCARDIOGRAM = _concept("ECG", snomed=("29303009", "Electrocardiographic procedure (procedure)"))
CT_OF_HEAD = _concept("CT head", snomed=("303653007", "Computed tomography of head (procedure)"))
CHEST_X_RAY = _concept("Chest X-ray", snomed=("399208008", "Plain chest X-ray (procedure)"))
CORONARY_ANGIOGRAPHY = _concept(
    "Coronary angiography", snomed=("33367005", "Angiography of coronary artery (procedure)")
)
PERCUTANEOUS_CORONARY_INTERVENTION = _concept(
    "PCI", snomed=("415070008", "Percutaneous coronary intervention (procedure)")
)
OXYGEN_THERAPY = _concept("Oxygen therapy", snomed=("57485005", "Oxygen therapy (procedure)"))
ICU_ADMISSION = _concept(
    "Admission to ICU", snomed=("305351004", "Admission to intensive care unit (procedure)")
)
COLONOSCOPY = _concept("Colonoscopy", snomed=("73761001", "Colonoscopy (procedure)"))
TOTAL_KNEE_REPLACEMENT = _concept(
    "Total knee replacement", snomed=("609588000", "Total knee replacement (procedure)")
)
CATARACT_EXTRACTION = _concept(
    "Cataract extraction", snomed=("54885007", "Extraction of cataract (procedure)")
)
BONE_IMMOBILIZATION = _concept("Bone immobilisation", snomed=("274474001", "Bone immobilization (procedure)"))
SUTURE_OF_WOUND = _concept("Suture of wound", snomed=("288086009", "Suture open wound (procedure)"))
ANKLE_X_RAY = _concept("Ankle X-ray", snomed=("19490002", "Ankle X-ray (procedure)"))
MEDICATION_RECONCILIATION = _concept(
    "Medication review", snomed=("430193006", "Medication reconciliation (procedure)")
)


# ----------------------------------------------------------------------------- medications
def _drug(text: str, rxnorm: tuple[str, str], atc: tuple[str, str]) -> Concept:
    return Concept(text, {"rxnorm": rxnorm, "atc": atc})


METFORMIN = _drug(
    "Metformin 500 mg",
    ("860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"),
    ("A10BA02", "metformin"),
)
INSULIN_GLARGINE = _drug("Insulin glargine", ("274783", "insulin glargine"), ("A10AE04", "insulin glargine"))
EMPAGLIFLOZIN = _drug("Empagliflozin", ("1545653", "empagliflozin"), ("A10BK03", "empagliflozin"))
LISINOPRIL = _drug("Lisinopril 10 mg", ("314076", "lisinopril 10 MG Oral Tablet"), ("C09AA03", "lisinopril"))
AMLODIPINE = _drug("Amlodipine", ("17767", "amlodipine"), ("C08CA01", "amlodipine"))
HYDROCHLOROTHIAZIDE = _drug(
    "Hydrochlorothiazide 25 mg",
    ("310798", "Hydrochlorothiazide 25 MG Oral Tablet"),
    ("C03AA03", "hydrochlorothiazide"),
)
ATORVASTATIN = _drug("Atorvastatin", ("83367", "atorvastatin"), ("C10AA05", "atorvastatin"))
SIMVASTATIN = _drug(
    "Simvastatin 20 mg", ("312961", "Simvastatin 20 MG Oral Tablet"), ("C10AA01", "simvastatin")
)
WARFARIN = _drug("Warfarin", ("11289", "warfarin"), ("B01AA03", "warfarin"))
APIXABAN = _drug("Apixaban", ("1364430", "apixaban"), ("B01AF02", "apixaban"))
ASPIRIN = _drug("Aspirin 81 mg", ("243670", "Aspirin 81 MG Oral Tablet"), ("B01AC06", "acetylsalicylic acid"))
CLOPIDOGREL = _drug("Clopidogrel", ("32968", "clopidogrel"), ("B01AC04", "clopidogrel"))
METOPROLOL = _drug(
    "Metoprolol succinate 100 mg",
    ("866412", "24 HR metoprolol succinate 100 MG Extended Release Oral Tablet"),
    ("C07AB02", "metoprolol"),
)
SALBUTAMOL = _drug("Salbutamol inhaler", ("435", "albuterol"), ("R03AC02", "salbutamol"))
OSELTAMIVIR = _drug("Oseltamivir", ("260101", "oseltamivir"), ("J05AH02", "oseltamivir"))
AMOXICILLIN = _drug(
    "Amoxicillin 500 mg", ("308192", "Amoxicillin 500 MG Oral Tablet"), ("J01CA04", "amoxicillin")
)
CIPROFLOXACIN = _drug("Ciprofloxacin", ("2551", "ciprofloxacin"), ("J01MA02", "ciprofloxacin"))
CEFTRIAXONE = _drug("Ceftriaxone", ("2193", "ceftriaxone"), ("J01DD04", "ceftriaxone"))
DEXAMETHASONE = _drug("Dexamethasone", ("3264", "dexamethasone"), ("H02AB02", "dexamethasone"))
PARACETAMOL = _drug(
    "Paracetamol 325 mg", ("313782", "Acetaminophen 325 MG Oral Tablet"), ("N02BE01", "paracetamol")
)
NITROFURANTOIN = _drug(
    "Nitrofurantoin 50 mg",
    ("311995", "NITROFURANTOIN, MACROCRYSTALS 50 MG Oral Capsule"),
    ("J01XE01", "nitrofurantoin"),
)


# ----------------------------------------------------------------------------- vaccines (CVX)
def _vaccine(code: str, display: str) -> FhirDict:
    return {"coding": [{"system": CVX, "code": code, "display": display}], "text": display}


VACCINE_INFLUENZA = _vaccine("140", "Influenza, seasonal, injectable, preservative free")
VACCINE_INFLUENZA_HIGH_DOSE = _vaccine("135", "Influenza, high dose seasonal")
VACCINE_COVID_PFIZER = _vaccine(
    "208", "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose"
)
VACCINE_COVID_MODERNA = _vaccine(
    "207", "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 100 mcg/0.5mL dose"
)
VACCINE_DTAP = _vaccine("20", "DTaP")
VACCINE_IPV = _vaccine("10", "IPV")
VACCINE_HEP_B_PAEDIATRIC = _vaccine("08", "Hep B, adolescent or pediatric")
VACCINE_HIB = _vaccine("49", "Hib (PRP-OMP)")
VACCINE_MMR = _vaccine("03", "MMR")
VACCINE_VARICELLA = _vaccine("21", "varicella")
VACCINE_TDAP = _vaccine("115", "Tdap")
VACCINE_HPV = _vaccine("62", "HPV, quadrivalent")
VACCINE_MENINGOCOCCAL = _vaccine("114", "meningococcal MCV4P")
VACCINE_PNEUMOCOCCAL_23 = _vaccine("33", "pneumococcal polysaccharide vaccine, 23 valent")
VACCINE_ZOSTER = _vaccine("187", "zoster vaccine recombinant")
VACCINE_TD = _vaccine("113", "Td (adult) preservative free")

# ----------------------------------------------------------------------------- claims
CLAIM_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claim-type"
CLAIM_INSTITUTIONAL = {
    "coding": [{"system": CLAIM_TYPE_SYSTEM, "code": "institutional", "display": "Institutional"}]
}
CLAIM_PROFESSIONAL = {
    "coding": [{"system": CLAIM_TYPE_SYSTEM, "code": "professional", "display": "Professional"}]
}
PRIORITY_NORMAL = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]
}
PRIORITY_STAT = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "stat"}]
}
