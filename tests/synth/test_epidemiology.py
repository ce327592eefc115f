"""The clinical content has the shape analytics will look for: age gradients, control, seasons, decline."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date, timedelta

from medlake.synth.institutions import HEALTH_CENTRES

from .conftest import Region

CENTRES = [inst.id for inst in HEALTH_CENTRES]


def _ages_and_conditions(
    region: Region,
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], set[str]]]:
    ages, conditions = {}, defaultdict(set)
    for inst in CENTRES:
        for patient in region.latest(inst, "Patient").values():
            if "birthDate" in patient:
                ages[(inst, patient["id"])] = 2024 - int(patient["birthDate"][:4])
        for condition in region.read(inst, "Condition"):
            conditions[(inst, condition["subject"]["reference"].removeprefix("Patient/"))].add(
                condition["code"]["text"]
            )
    return ages, conditions


def _mean_per_patient(
    region: Region, loinc: str, component: int | None = None
) -> dict[tuple[str, str], float]:
    values = defaultdict(list)
    for inst in CENTRES:
        for observation in region.read(inst, "Observation"):
            if observation["code"]["coding"][-1]["code"] != loinc:
                continue
            quantity = observation["component"][component] if component is not None else observation
            values[(inst, observation["subject"]["reference"].removeprefix("Patient/"))].append(
                quantity["valueQuantity"]["value"]
            )
    return {key: statistics.mean(v) for key, v in values.items()}


def test_hypertension_is_far_more_prevalent_in_the_old(region: Region) -> None:
    ages, conditions = _ages_and_conditions(region)
    old = [k for k, age in ages.items() if age >= 65]
    young = [k for k, age in ages.items() if age < 40]
    assert len(old) > 80 and len(young) > 200
    old_rate = sum("Hypertension" in conditions[k] for k in old) / len(old)
    young_rate = sum("Hypertension" in conditions[k] for k in young) / len(young)
    assert old_rate > 0.3
    assert old_rate > 5 * young_rate


def test_chronic_disease_in_the_old_only(region: Region) -> None:
    ages, conditions = _ages_and_conditions(region)
    for disease in ("Atrial fibrillation", "Ischaemic stroke", "Coronary heart disease"):
        patients = [k for k, found in conditions.items() if disease in found and k in ages]
        assert patients, disease
        assert statistics.median(ages[k] for k in patients) >= 60, disease


def test_diabetics_have_higher_hba1c_and_glucose(region: Region) -> None:
    _, conditions = _ages_and_conditions(region)
    hba1c = _mean_per_patient(region, "4548-4")
    glucose = _mean_per_patient(region, "2339-0")
    diabetic = [k for k in hba1c if "Type 2 diabetes mellitus" in conditions[k]]
    other = [k for k in hba1c if "Type 2 diabetes mellitus" not in conditions[k]]
    assert len(diabetic) > 10 and len(other) > 10
    assert statistics.mean(hba1c[k] for k in diabetic) > statistics.mean(hba1c[k] for k in other) + 1.0
    assert statistics.mean(hba1c[k] for k in other) < 6.0
    diabetic_glucose = [glucose[k] for k in diabetic if k in glucose]
    other_glucose = [glucose[k] for k in glucose if "Type 2 diabetes mellitus" not in conditions[k]]
    assert statistics.mean(diabetic_glucose) > statistics.mean(other_glucose) + 20


def test_hypertensives_have_higher_blood_pressure(region: Region) -> None:
    ages, conditions = _ages_and_conditions(region)
    systolic = _mean_per_patient(region, "85354-9", component=0)
    adults = [k for k in systolic if ages.get(k, 0) >= 40]
    hypertensive = [systolic[k] for k in adults if "Hypertension" in conditions[k]]
    normal = [systolic[k] for k in adults if "Hypertension" not in conditions[k]]
    assert statistics.mean(hypertensive) > statistics.mean(normal) + 8


def test_influenza_like_illness_peaks_in_winter(region: Region) -> None:
    months: Counter[int] = Counter()
    for inst in CENTRES:
        for encounter in region.read(inst, "Encounter"):
            reasons = {r["text"] for r in encounter.get("reasonCode", [])}
            if reasons & {"Influenza-like illness", "Influenza, laboratory confirmed"}:
                months[int(encounter["period"]["start"][5:7])] += 1
    winter = months[12] + months[1] + months[2]
    summer = months[6] + months[7] + months[8]
    assert winter > 50
    assert winter > 2.5 * summer


def test_notifications_follow_the_epidemics(region: Region) -> None:
    by_disease: dict[str, Counter[str]] = defaultdict(Counter)
    for case in region.read("cdc-region", "Condition"):
        assert case["evidence"][0]["detail"][0]["reference"].startswith("Observation/")
        assert case["recordedDate"][:10] >= case["onsetDateTime"]  # reported after onset
        by_disease[case["code"]["text"]][case["onsetDateTime"][:7]] += 1
    covid = by_disease["COVID-19"]
    assert sum(covid.values()) > 50
    assert sum(n for month, n in covid.items() if month < "2020-02") == 0
    assert covid["2022-01"] + covid["2022-03"] > covid["2021-06"] + covid["2021-07"]
    influenza = by_disease["Influenza, laboratory confirmed"]
    assert sum(influenza.values()) > 5
    winter = sum(n for month, n in influenza.items() if month[5:] in {"11", "12", "01", "02", "03", "04"})
    assert winter > 0.8 * sum(influenza.values())


def test_deteriorating_patients_show_worsening_vital_signs(region: Region) -> None:
    rows = region.truth("deteriorations")
    assert rows
    wanted = {(row["institution"], f"Encounter/{row['encounter_id']}") for row in rows}
    rates: dict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
    for inst in sorted({inst for inst, _ in wanted}):
        for observation in region.read(inst, "Observation"):
            key = (inst, observation.get("encounter", {}).get("reference", ""))
            if key in wanted and observation["code"]["text"] == "Respiratory rate":
                rates[key].append((observation["effectiveDateTime"], observation["valueQuantity"]["value"]))
    worsened = 0
    for row in rows:
        series = rates[(row["institution"], f"Encounter/{row['encounter_id']}")]
        before = [rate for when, rate in series if when < row["deterioration_start"]]
        near = [rate for when, rate in series if row["deterioration_start"] <= when <= row["escalation"]]
        if before and near and max(near) >= statistics.mean(before) + 5:
            worsened += 1
    assert worsened >= 0.7 * len(rows)


def test_treated_hypertension_lowers_blood_pressure_over_visits(region: Region) -> None:
    """A trajectory, not noise: after the antihypertensive starts, systolic pressure falls."""
    started: dict[tuple[str, str], str] = {}
    for inst in CENTRES:
        for request in region.read(inst, "MedicationRequest"):
            if request.get("reasonCode", [{}])[0].get("text") == "Hypertension":
                key = (inst, request["subject"]["reference"].removeprefix("Patient/"))
                started[key] = min(started.get(key, "9999"), request["authoredOn"])
    drops = []
    for inst in CENTRES:
        readings = defaultdict(list)
        for observation in region.read(inst, "Observation"):
            key = (inst, observation["subject"]["reference"].removeprefix("Patient/"))
            if key in started and observation["code"]["text"] == "Blood pressure":
                readings[key].append(
                    (
                        observation["effectiveDateTime"][:10],
                        observation["component"][0]["valueQuantity"]["value"],
                    )
                )
        for key, values in readings.items():
            year_before = date.fromisoformat(started[key]).replace(day=1) - timedelta(days=365)
            before = [v for day, v in values if year_before.isoformat() <= day < started[key]]
            after = [v for day, v in values if day > started[key]]
            if len(before) >= 1 and len(after) >= 2:
                drops.append(statistics.mean(before) - statistics.mean(after))
    assert len(drops) >= 5
    assert statistics.mean(drops) > 5
