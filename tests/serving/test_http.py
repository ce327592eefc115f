"""The FHIR server over HTTP: a real uvicorn on a loopback port, real users and tokens, httpx.

For every endpoint, each role tries to reach what is not theirs — another person's record,
another institution's — by id, by every search parameter that names a patient, by include and
by paging links, and must get nothing: 404 on a read (the same answer as a missing id), an
empty Bundle on a search, 400 for a link that is not theirs.
"""

from __future__ import annotations

import httpx
import pytest

from tests.serving.conftest import Served


def get(served: Served, user: str | None, path: str, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {served.tokens[user]}"} if user else {}
    return httpx.get(f"{served.url}{path}", params=params, headers=headers, timeout=30)


def bundle_ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
    return [e["resource"]["id"] for e in body.get("entry", [])]


def every_page(served: Served, user: str, path: str, **params: str) -> tuple[int, list[dict]]:
    """Total and every entry of a search, following next links."""
    response = get(served, user, path, **params)
    assert response.status_code == 200, response.text
    total, entries = response.json()["total"], []
    while True:
        body = response.json()
        entries += body.get("entry", [])
        following = [link["url"] for link in body["link"] if link["relation"] == "next"]
        if not following:
            return total, entries
        response = httpx.get(following[0], headers={"Authorization": f"Bearer {served.tokens[user]}"})
        assert response.status_code == 200, response.text


def is_outcome(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["diagnostics"]
    return body


# -- the capability statement and the documentation ------------------------------------------


def test_metadata_tells_what_is_served(served: Served) -> None:
    body = get(served, None, "/fhir/metadata").json()
    assert body["resourceType"] == "CapabilityStatement" and body["fhirVersion"] == "4.0.1"
    resources = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert "Observation" in resources and "Patient" in resources and "Basic" not in resources
    observation = {p["name"]: p for p in resources["Observation"]["searchParam"]}
    assert observation["code"]["definition"] == "http://hl7.org/fhir/SearchParameter/clinical-code"
    assert observation["patient"]["type"] == "reference"
    assert "Observation:patient" in resources["Observation"]["searchInclude"]
    # what the CapabilityStatement claims, the server takes
    for name in ("identifier", "category", "status", "date"):
        assert (
            get(
                served, "clinician-home", "/fhir/Observation", **{name: "x" if name != "date" else "2020"}
            ).status_code
            == 200
        )


def test_openapi_and_docs(served: Served) -> None:
    assert "/fhir/{resource_type}/{resource_id}" in get(served, None, "/openapi.json").json()["paths"]
    assert get(served, None, "/docs").status_code == 200


# -- authentication ----------------------------------------------------------------------------


def test_no_token_or_a_forged_one_is_refused(served: Served) -> None:
    patient = served.region.patients[served.region.person][0]
    for path in (f"/fhir/Patient/{patient}", "/fhir/Patient"):
        body = is_outcome(get(served, None, path), 401)
        assert "Bearer" in httpx.get(f"{served.url}{path}").headers["www-authenticate"]
        assert body["issue"][0]["code"] == "login"
        token = served.tokens["resident-a"]
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        is_outcome(httpx.get(f"{served.url}{path}", headers={"Authorization": f"Bearer {forged}"}), 401)


# -- read ----------------------------------------------------------------------------------------


def test_a_resident_reads_their_own_record_and_nobody_else(served: Served) -> None:
    region = served.region
    own = region.patients[region.person]
    for patient in own:
        assert get(served, "resident-a", f"/fhir/Patient/{patient}").json()["id"] == patient
    other = region.patients[region.other][0]
    refused = is_outcome(get(served, "resident-a", f"/fhir/Patient/{other}"), 404)
    missing = is_outcome(get(served, "resident-a", f"/fhir/Patient/{region.home}.no-such-patient"), 404)
    # refused and missing look alike but for the id they quote: nothing tells them apart
    assert refused["issue"][0]["code"] == missing["issue"][0]["code"] == "not-found"
    assert refused["issue"][0]["diagnostics"].replace(other, "X") == missing["issue"][0][
        "diagnostics"
    ].replace(f"{region.home}.no-such-patient", "X")
    # another person's encounter, read by id
    _, theirs = every_page(served, "resident-b", "/fhir/Encounter")
    assert theirs
    is_outcome(get(served, "resident-a", f"/fhir/Encounter/{theirs[0]['resource']['id']}"), 404)


def test_a_clinician_reads_their_institution_only(served: Served) -> None:
    region = served.region
    _, home_patients = every_page(served, "clinician-home", "/fhir/Patient")
    assert home_patients and {e["resource"]["id"].split(".")[0] for e in home_patients} == {region.home}
    _, away_patients = every_page(served, "clinician-away", "/fhir/Patient")
    assert away_patients
    is_outcome(get(served, "clinician-home", f"/fhir/Patient/{away_patients[0]['resource']['id']}"), 404)
    is_outcome(get(served, "clinician-away", f"/fhir/Patient/{home_patients[0]['resource']['id']}"), 404)


def test_roles_without_clinical_reads(served: Served) -> None:
    patient = served.region.patients[served.region.person][0]
    for user in ("admin", "analyst"):
        is_outcome(get(served, user, f"/fhir/Patient/{patient}"), 404)
        is_outcome(get(served, user, "/fhir/Patient"), 403)
        is_outcome(get(served, user, "/fhir/Observation", _summary="count"), 403)


# -- search ----------------------------------------------------------------------------------


def test_every_way_of_naming_another_person_finds_nothing(served: Served) -> None:
    region = served.region
    other_patient = next(p for p in region.patients[region.other] if p.startswith(f"{region.home}."))
    other_record = get(served, "clinician-home", f"/fhir/Patient/{other_patient}").json()
    identifier = other_record["identifier"][0]
    attempts = [
        ("/fhir/Encounter", {"patient": other_patient}),
        ("/fhir/Encounter", {"subject": f"Patient/{other_patient}"}),
        ("/fhir/Encounter", {"subject:Patient": other_patient}),
        ("/fhir/Patient", {"_id": other_patient}),
        ("/fhir/Patient", {"identifier": f"{identifier.get('system', '')}|{identifier['value']}"}),
        ("/fhir/Patient", {"family": other_record["name"][0]["family"]}),
        ("/fhir/Condition", {"patient": other_patient, "_summary": "count"}),
        ("/fhir/Observation", {"patient": other_patient, "_include": "Observation:patient"}),
    ]
    for path, params in attempts:
        response = get(served, "resident-a", path, **params)
        assert response.status_code == 200, (path, params, response.text)
        body = response.json()
        assert body["total"] == 0 and not body.get("entry"), (path, params)
    # the clinician of the other person's institution finds them the same ways
    for path, params in attempts[3:6]:
        assert other_patient in bundle_ids(get(served, "clinician-home", path, **params)), (path, params)


def test_a_resident_searches_their_own_record(served: Served) -> None:
    region = served.region
    total, entries = every_page(served, "resident-a", "/fhir/Encounter", _count="5")
    own = set(region.patients[region.person])
    assert total == len(entries) > 0
    assert {e["resource"]["subject"]["reference"].split("/", 1)[1] for e in entries} <= own
    # the clinician of the home institution sees at least the home institution's share of them
    home_own = [p for p in own if p.startswith(f"{region.home}.")]
    clinician_total = sum(
        get(served, "clinician-home", "/fhir/Encounter", patient=p).json()["total"] for p in home_own
    )
    resident_home = sum(1 for e in entries if e["resource"]["id"].startswith(f"{region.home}."))
    assert clinician_total == resident_home
    # an include of the subject brings the resident's own Patient, never another
    body = get(served, "resident-a", "/fhir/Encounter", _include="Encounter:patient", _count="3").json()
    included = [e["resource"]["id"] for e in body["entry"] if e["search"]["mode"] == "include"]
    assert included and set(included) <= own


def test_include_never_reaches_past_the_scope(served: Served) -> None:
    """A clinician's encounters include only patients of their own institution."""
    body = get(served, "clinician-home", "/fhir/Encounter", _include="Encounter:patient", _count="50").json()
    included = [e["resource"]["id"] for e in body["entry"] if e["search"]["mode"] == "include"]
    assert included and all(i.startswith(f"{served.region.home}.") for i in included)


def test_paging_links_are_opaque_and_bound_to_their_caller(served: Served) -> None:
    first = get(served, "clinician-home", "/fhir/Encounter", _count="3").json()
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    assert "_count" not in next_url and "_page=" in next_url
    mine = httpx.get(next_url, headers={"Authorization": f"Bearer {served.tokens['clinician-home']}"})
    assert mine.status_code == 200 and mine.json()["total"] == first["total"]
    assert not {e["resource"]["id"] for e in mine.json()["entry"]} & {
        e["resource"]["id"] for e in first["entry"]
    }
    # another caller following the link: refused, and nothing of the page shown
    theirs = httpx.get(next_url, headers={"Authorization": f"Bearer {served.tokens['clinician-away']}"})
    assert "someone else" in is_outcome(theirs, 400)["issue"][0]["diagnostics"]
    # a link altered to skip ahead or to another type: refused
    body, signature = next_url.split("_page=")[1].split(".")
    tampered = next_url.replace(body, body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1])
    is_outcome(
        httpx.get(tampered, headers={"Authorization": f"Bearer {served.tokens['clinician-home']}"}), 400
    )
    other_type = next_url.replace("/fhir/Encounter?", "/fhir/Patient?")
    is_outcome(
        httpx.get(other_type, headers={"Authorization": f"Bearer {served.tokens['clinician-home']}"}), 400
    )
    assert signature


def test_summary_count_and_sort(served: Served) -> None:
    body = get(served, "clinician-home", "/fhir/Encounter", _summary="count").json()
    assert body["total"] > 0 and not body.get("entry")
    dates = [
        e["resource"]["period"]["start"]
        for e in get(served, "clinician-home", "/fhir/Encounter", _sort="-date", _count="20").json()["entry"]
    ]
    assert dates == sorted(dates, reverse=True)


# -- bad requests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/fhir/Patient", {"colour": "red"}, 400),
        ("/fhir/Patient", {"birthdate": "yesterday"}, 400),
        ("/fhir/Observation", {"subject.name": "x"}, 400),
        ("/fhir/Patient", {"_page": "forged.link"}, 400),
        ("/fhir/Basic", {}, 404),
        ("/fhir/Basic/1", {}, 404),
        ("/fhir/Patient/../../etc", {}, 404),
    ],
)
def test_bad_requests_get_an_operation_outcome(served: Served, path: str, params: dict, status: int) -> None:
    is_outcome(get(served, "clinician-home", path, **params), status)


def test_unknown_routes_and_methods(served: Served) -> None:
    response = httpx.delete(
        f"{served.url}/fhir/Patient/x", headers={"Authorization": f"Bearer {served.tokens['admin']}"}
    )
    is_outcome(response, 405)
