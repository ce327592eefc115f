"""How one institution records a resident: the demographic noise that record linkage must survive.

Each institution's clerks make their own mistakes at their own rate (``clerk_error_rate``): a
nickname instead of the given name, a one-letter typo, given and family names swapped, a birth
date with day and month transposed or only year and month, a missing or outdated phone number,
the address the person had when they registered there, a national id that is missing or filed
under a legacy system.  Nothing here is random noise for its own sake: each variation is a
failure mode observed in real master-patient-index work.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from medlake.synth import clock, names
from medlake.synth.geography import COUNTRY, STATE, STREET_ABBREVIATIONS, Address
from medlake.synth.identifiers import record_number
from medlake.synth.institutions import (
    LEGACY_NATIONAL_ID_SYSTEM,
    NATIONAL_ID_SYSTEM,
    Institution,
    format_phone,
)
from medlake.synth.population import Resident

_V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
_MRN_TYPE = {"coding": [{"system": _V2_0203, "code": "MR", "display": "Medical record number"}]}
_NATIONAL_TYPE = {
    "coding": [{"system": _V2_0203, "code": "NI", "display": "National unique individual identifier"}]
}

FhirDict = dict[str, Any]


def patient_resource(
    rng: random.Random,
    resident: Resident,
    institution: Institution,
    patient_id: str,
    number: int,
    registered_day: int,
    updated_text: str,
) -> FhirDict:
    """The institution's Patient resource for ``resident``, as registered on ``registered_day``."""
    err = institution.clerk_error_rate
    given, middle, family = _recorded_names(rng, resident, institution, registered_day, err)
    name: FhirDict = {"use": "official", "family": family, "given": [given, middle] if middle else [given]}
    if rng.random() < 0.01 * err:  # given and family entered in each other's fields
        name = {"use": "official", "family": given, "given": [family]}

    identifiers: list[FhirDict] = [
        {
            "use": "usual",
            "type": _MRN_TYPE,
            "system": institution.mrn_system,
            "value": record_number(institution, number),
        }
    ]
    if rng.random() < institution.national_id_share:
        value = resident.national_id
        if rng.random() < 0.004 * err:
            value = _digit_typo(rng, value)
        system = (
            LEGACY_NATIONAL_ID_SYSTEM
            if rng.random() < institution.legacy_national_id_share
            else NATIONAL_ID_SYSTEM
        )
        identifiers.append({"use": "official", "type": _NATIONAL_TYPE, "system": system, "value": value})

    patient: FhirDict = {
        "resourceType": "Patient",
        "id": patient_id,
        "meta": {"versionId": "1", "lastUpdated": updated_text},
        "identifier": identifiers,
        "active": True,
        "name": [name],
    }
    telecom = _recorded_phone(rng, resident, institution, registered_day, err)
    if telecom:
        patient["telecom"] = [telecom]
    if rng.random() >= 0.004 * err:
        patient["gender"] = resident.sex
    birth_date = _recorded_birth_date(rng, resident.birth_day, err)
    if birth_date:
        patient["birthDate"] = birth_date
    patient["address"] = [address_json(rng, resident.residence_on(registered_day).address, institution, err)]
    patient["managingOrganization"] = {"reference": f"Organization/{institution.id}"}
    return patient


def address_json(
    rng: random.Random, address: Address, institution: Institution, err: float = 1.0
) -> FhirDict:
    """A FHIR Address in the institution's style, with the occasional postcode typo."""
    line = address.line
    if institution.abbreviates_streets:
        for word, short in STREET_ABBREVIATIONS.items():
            if line.endswith(" " + word) or f" {word}," in line:
                line = line.replace(" " + word, " " + short, 1)
                break
    postal_code = address.postal_code
    if rng.random() < 0.012 * err:
        postal_code = _digit_typo(rng, postal_code)
    result: FhirDict = {
        "use": "home",
        "line": [line],
        "city": address.town,
        "postalCode": postal_code,
        "state": STATE,
    }
    if institution.kind != "community-health-centre":
        result["country"] = COUNTRY
    return result


def _recorded_names(
    rng: random.Random, resident: Resident, institution: Institution, registered_day: int, err: float
) -> tuple[str, str | None, str]:
    given = resident.given
    nicknames = names.NICKNAMES.get(given)
    if nicknames and rng.random() < 0.12 * err:
        given = rng.choice(nicknames)
    elif rng.random() < 0.03 * err:
        given = names.one_typo(rng, given)
    middle = resident.middle
    if middle is not None:
        keep = 0.75 if institution.is_hospital else 0.5
        if rng.random() >= keep:
            middle = None
        elif rng.random() < 0.15:
            middle = middle[0]
    family = resident.family
    if resident.former_family and rng.random() < 0.4:
        family = resident.former_family  # registered before the name change and never updated
    if rng.random() < 0.03 * err:
        family = names.one_typo(rng, family)
    return given, middle, family


def _recorded_phone(
    rng: random.Random, resident: Resident, institution: Institution, registered_day: int, err: float
) -> FhirDict | None:
    if rng.random() < 0.14 * err:
        return None
    home = resident.residence_on(registered_day).home_phone
    mobile = resident.mobile_phone
    if resident.former_mobile_phone and rng.random() < 0.5:
        mobile = resident.former_mobile_phone
    if mobile and rng.random() < 0.7:
        return {"system": "phone", "value": format_phone(mobile, institution.phone_style), "use": "mobile"}
    return {"system": "phone", "value": format_phone(home, institution.phone_style), "use": "home"}


def _recorded_birth_date(rng: random.Random, birth_day: int, err: float) -> str | None:
    r = rng.random()
    if r < 0.003 * err:
        return None
    born = date.fromordinal(birth_day)
    if r < 0.02 * err:  # only year and month known (e.g. migrated from a legacy system)
        return f"{born.year:04d}-{born.month:02d}"
    if r < 0.028 * err and born.day <= 12 and born.day != born.month:  # day and month transposed
        return f"{born.year:04d}-{born.day:02d}-{born.month:02d}"
    if r < 0.036 * err:  # off by one day
        return clock.day_text(birth_day + rng.choice((-1, 1)))
    return clock.day_text(birth_day)


def _digit_typo(rng: random.Random, digits: str) -> str:
    """One wrong digit, or two adjacent digits swapped: the classic keying errors."""
    position = rng.randrange(len(digits))
    if rng.random() < 0.5 and position < len(digits) - 1 and digits[position] != digits[position + 1]:
        return digits[:position] + digits[position + 1] + digits[position] + digits[position + 2 :]
    replacement = rng.choice([d for d in "0123456789" if d != digits[position]])
    return digits[:position] + replacement + digits[position + 1 :]
