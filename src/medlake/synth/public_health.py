"""The public-health agency's view: the immunisation registry and notifiable-disease case reports.

The agency sees only what is reported to it, later than it happened: vaccinations arrive from
health centres, pharmacies and vaccination centres days after they were given, and a notifiable
case arrives as a laboratory result plus a case record, with a reporting delay after the
specimen date.  Those delays are what surveillance nowcasting has to correct for.
"""

from __future__ import annotations

from datetime import date

from medlake.synth import clock
from medlake.synth import terminology as t
from medlake.synth.care import clinic_start
from medlake.synth.chart import lab_code, meta, newer_version, reference
from medlake.synth.institutions import INSTITUTION_BY_ID
from medlake.synth.life import ResidentLife
from medlake.synth.planning import Event
from medlake.synth.terminology import Concept, FhirDict

CASE_CATEGORY_SYSTEM = "http://cdc-region.example.org/fhir/CodeSystem/case-category"
NOTIFIABLE_CASE: list[FhirDict] = [
    t.PROBLEM_LIST[0],
    {
        "coding": [
            {"system": CASE_CATEGORY_SYSTEM, "code": "notifiable-case", "display": "Notifiable disease case"}
        ]
    },
]

VACCINES: dict[str, FhirDict] = {
    "influenza": t.VACCINE_INFLUENZA,
    "influenza-high-dose": t.VACCINE_INFLUENZA_HIGH_DOSE,
    "covid-pfizer": t.VACCINE_COVID_PFIZER,
    "covid-moderna": t.VACCINE_COVID_MODERNA,
    "dtap": t.VACCINE_DTAP,
    "ipv": t.VACCINE_IPV,
    "hep-b": t.VACCINE_HEP_B_PAEDIATRIC,
    "hib": t.VACCINE_HIB,
    "mmr": t.VACCINE_MMR,
    "varicella": t.VACCINE_VARICELLA,
    "tdap": t.VACCINE_TDAP,
    "hpv": t.VACCINE_HPV,
    "meningococcal": t.VACCINE_MENINGOCOCCAL,
    "pneumococcal": t.VACCINE_PNEUMOCOCCAL_23,
    "zoster": t.VACCINE_ZOSTER,
    "td": t.VACCINE_TD,
}
_SERIES = frozenset(
    {"covid-pfizer", "covid-moderna", "dtap", "ipv", "hep-b", "hib", "mmr", "varicella", "hpv", "zoster"}
)
_PHARMACY = "Lakeland community pharmacy"
_MASS_VACCINATION_CENTRE = "Lakeford COVID-19 vaccination centre"
_MASS_VACCINATION_CLOSED = date(2022, 4, 1).toordinal()


def vaccination(life: ResidentLife, event: Event) -> None:
    """A registry entry for a vaccine given at a health centre, a pharmacy or a vaccination centre."""
    rng, day = life.rng, event.day
    key, dose = event.detail
    given = clinic_start(rng, day)
    where = INSTITUTION_BY_ID[life.health_centre].name
    if key.startswith("covid") and day < _MASS_VACCINATION_CLOSED and rng.random() < 0.6:
        where = _MASS_VACCINATION_CENTRE
    elif (key.startswith("influenza") or key.startswith("covid")) and rng.random() < 0.4:
        where = _PHARMACY
    chart = life.public_health_chart(day)
    reported = given + rng.randrange(30, 14 * clock.MINUTES_PER_DAY)
    chart.immunization(
        VACCINES[key], given, meta(reported), where, dose if key in _SERIES else None, rng.random() > 0.03
    )


def notify(
    life: ResidentLife,
    disease: Concept,
    onset_day: int,
    test: Concept,
    result: FhirDict,
    specimen: int,
    resulted: int,
) -> None:
    """A laboratory-confirmed case reaching the agency: the lab result and the case record citing it."""
    rng = life.rng
    reported = resulted + rng.randrange(60, 4 * clock.MINUTES_PER_DAY)
    chart = life.public_health_chart(clock.day_of(reported))
    record = meta(reported)
    observation = chart.coded_result(
        lab_code(chart.institution, test),
        t.LABORATORY,
        result,
        clock.instant_text(specimen),
        None,
        record,
        clock.instant_text(resulted),
    )
    closed = onset_day + rng.randrange(14, 28)
    onset = clock.day_text(onset_day)
    if closed <= clock.day_of(reported):  # reported late: the case is already over
        chart.condition(
            disease,
            NOTIFIABLE_CASE,
            onset,
            clock.instant_text(reported),
            None,
            record,
            clinical=t.RESOLVED,
            abatement=clock.day_text(closed),
            evidence=reference(observation),
        )
        return
    case = chart.condition(
        disease,
        NOTIFIABLE_CASE,
        onset,
        clock.instant_text(reported),
        None,
        record,
        evidence=reference(observation),
    )
    if closed < clock.AS_OF_DAY and rng.random() < 0.6:  # follow-up closes the case: a second version
        closing = clock.at(closed + rng.randrange(0, 10), rng.randrange(8 * 60, 18 * 60))
        chart.emit(
            newer_version(case, closing, clinicalStatus=t.RESOLVED, abatementDateTime=clock.day_text(closed))
        )
