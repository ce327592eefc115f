"""The ground truth matches what was emitted, stays out of the FHIR, and the records really differ."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict

from medlake.synth import INSTITUTIONS
from medlake.synth.identifiers import luhn_check_digit
from medlake.synth.institutions import HEALTH_CENTRES, NATIONAL_ID_SYSTEM

from .conftest import RESIDENTS, Region


def test_truth_lists_exactly_the_emitted_patients(region: Region) -> None:
    emitted = {(inst.id, pid) for inst in INSTITUTIONS for pid in region.latest(inst.id, "Patient")}
    truth = [(row["institution"], row["patient_id"]) for row in region.truth("persons")]
    assert len(truth) == len(set(truth))
    assert set(truth) == emitted


def test_every_resident_is_on_a_health_centre_list(region: Region) -> None:
    centres = {inst.id for inst in HEALTH_CENTRES}
    persons = region.truth("persons")
    assert len({row["person_id"] for row in persons}) == RESIDENTS
    registered = {row["person_id"] for row in persons if row["institution"] in centres}
    assert len(registered) == RESIDENTS


def test_residents_visit_a_subset_of_institutions(region: Region) -> None:
    per_person: dict[str, set[str]] = defaultdict(set)
    for row in region.truth("persons"):
        per_person[row["person_id"]].add(row["institution"])
    at_hospital = sum(1 for insts in per_person.values() if insts & {"hosp-north", "hosp-south"})
    assert 0.05 * RESIDENTS < at_hospital < 0.6 * RESIDENTS
    at_agency = sum(1 for insts in per_person.values() if "cdc-region" in insts)
    assert 0.5 * RESIDENTS < at_agency < RESIDENTS
    moved_centre = sum(
        1 for insts in per_person.values() if len(insts & {"chc-east", "chc-west", "chc-central"}) > 1
    )
    assert moved_centre > 0  # moved to another catchment and re-registered there


def test_hospitals_sometimes_register_a_person_twice(region: Region) -> None:
    records = Counter((row["person_id"], row["institution"]) for row in region.truth("persons"))
    duplicates = [key for key, count in records.items() if count > 1]
    assert duplicates
    assert all(institution.startswith("hosp-") for _, institution in duplicates)


def test_person_ids_never_appear_in_the_fhir(region: Region) -> None:
    person_ids = {row["person_id"] for row in region.truth("persons")}
    pattern = re.compile(rb"person-\d{7}")
    for path in region.files():
        found = set(pattern.findall(path.read_bytes()))
        assert not found & {p.encode() for p in person_ids}, path


def test_institutions_have_disjoint_patient_ids_in_their_own_styles(region: Region) -> None:
    ids = {inst.id: set(region.latest(inst.id, "Patient")) for inst in INSTITUTIONS}
    for (a, ids_a), (b, ids_b) in itertools.combinations(ids.items(), 2):
        assert not ids_a & ids_b, (a, b)
    uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert all(uuid.match(i) for i in ids["hosp-north"])
    assert all(re.fullmatch(r"\d{8}", i) for i in ids["hosp-south"])
    assert all(re.fullmatch(r"CE\d{8}", i) for i in ids["chc-east"])
    assert all(re.fullmatch(r"IR\d{8}", i) for i in ids["cdc-region"])


def test_each_institution_uses_its_own_record_number_system(region: Region) -> None:
    for inst in INSTITUTIONS:
        for patient in region.latest(inst.id, "Patient").values():
            mrn = [i for i in patient["identifier"] if i["type"]["coding"][0]["code"] == "MR"]
            assert [i["system"] for i in mrn] == [inst.mrn_system]


def test_national_id_only_where_the_institution_records_it(region: Region) -> None:
    shares = {}
    for inst in INSTITUTIONS:
        patients = list(region.latest(inst.id, "Patient").values())
        with_id = [
            p for p in patients if any(i["type"]["coding"][0]["code"] == "NI" for i in p["identifier"])
        ]
        shares[inst.id] = len(with_id) / len(patients)
    assert shares["chc-east"] == 0.0
    assert 0.85 < shares["hosp-north"] < 1.0
    assert 0.2 < shares["chc-west"] < 0.5
    valid = 0
    for patient in region.latest("cdc-region", "Patient").values():
        for identifier in patient["identifier"]:
            if identifier["system"] == NATIONAL_ID_SYSTEM:
                value = identifier["value"]
                valid += luhn_check_digit(value[:-1]) == value[-1]
    assert valid > 0.5 * RESIDENTS


def _demographics(patient: dict) -> dict[str, object]:
    name = patient["name"][0]
    phone = patient.get("telecom", [{}])[0].get("value")
    return {
        "given": name["given"][0],
        "family": name["family"],
        "birth": patient.get("birthDate"),
        "phone": re.sub(r"\D", "", phone)[-9:] if phone else None,
        "address": (patient["address"][0]["line"][0], patient["address"][0]["postalCode"]),
    }


def test_linked_records_vary_realistically(region: Region) -> None:
    patients = {
        (inst.id, pid): p for inst in INSTITUTIONS for pid, p in region.latest(inst.id, "Patient").items()
    }
    records: dict[str, list[dict]] = defaultdict(list)
    for row in region.truth("persons"):
        records[row["person_id"]].append(_demographics(patients[(row["institution"], row["patient_id"])]))
    pairs = [pair for recs in records.values() for pair in itertools.combinations(recs, 2)]
    assert len(pairs) > RESIDENTS
    differing = {
        field: sum(a[field] != b[field] for a, b in pairs) / len(pairs)
        for field in ("given", "family", "birth", "phone", "address")
    }
    assert 0.03 < differing["given"] < 0.3  # nicknames, typos, swapped fields
    assert 0.02 < differing["family"] < 0.2
    assert 0.01 < differing["birth"] < 0.15
    assert 0.1 < differing["phone"] < 0.8
    assert 0.05 < differing["address"] < 0.7
    identical = sum(a == b for a, b in pairs) / len(pairs)
    assert identical > 0.1  # most differences are small: many pairs still agree entirely


def test_nicknames_and_partial_birth_dates_occur(region: Region) -> None:
    given_names = {
        p["name"][0]["given"][0] for inst in INSTITUTIONS for p in region.latest(inst.id, "Patient").values()
    }
    assert given_names & {"Bill", "Bob", "Mike", "Liz", "Jim", "Tom", "Kate", "Maggie", "Chris", "Dan"}
    birth_dates = [
        p.get("birthDate") for inst in INSTITUTIONS for p in region.latest(inst.id, "Patient").values()
    ]
    assert any(b is not None and len(b) == 7 for b in birth_dates)  # YYYY-MM only
    assert any(b is None for b in birth_dates) or sum(len(b or "") == 7 for b in birth_dates) > 3


def test_truth_files_for_outbreaks_and_deteriorations(region: Region) -> None:
    outbreaks = region.truth("outbreaks")
    assert {row["disease"] for row in outbreaks} == {"salmonellosis", "gastroenteritis"}
    assert all(row["start"] < row["end"] for row in outbreaks)
    deteriorations = region.truth("deteriorations")
    assert deteriorations
    for row in deteriorations:
        assert row["admitted"] <= row["deterioration_start"] <= row["escalation"]
        assert row["outcome"] in {"intensive-care", "died"}
        assert row["encounter_id"] in region.latest(row["institution"], "Encounter")
    seasons = region.truth("influenza_seasons")
    assert len(seasons) >= 5
    assert all(row["influenza_peak"][5:7] in {"12", "01", "02", "03", "04"} for row in seasons)
    pandemic_winter = next(row for row in seasons if row["season"] == "2020/21")
    assert float(pandemic_winter["relative_size"]) < 0.1  # influenza all but vanished that winter
