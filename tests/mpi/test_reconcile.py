"""Groups to global ids: stable ids, merges keep the oldest, splits keep the majority."""

from __future__ import annotations

from medlake.mpi.ids import mint_person_id
from medlake.mpi.reconcile import assign_persons

AGE = {"P_OLD": 0, "P_MID": 1, "P_NEW": 2}


def rank(person: str) -> tuple:
    return (AGE.get(person, 99), person)


def test_new_records_join_existing_persons_without_changing_their_id() -> None:
    previous = {"a": "P_OLD", "b": "P_OLD", "c": "P_MID"}
    result = assign_persons({"a": ["a", "b", "x"], "c": ["c"]}, previous, set(AGE), rank)
    assert result.person_of == {"a": "P_OLD", "b": "P_OLD", "x": "P_OLD", "c": "P_MID"}
    assert not result.created and not result.merged
    assert [(c.kind, c.person_id, c.patient_ids) for c in result.changes] == [("attach", "P_OLD", ("x",))]


def test_merge_keeps_the_oldest_id_and_records_the_absorbed_one() -> None:
    previous = {"a": "P_NEW", "b": "P_OLD", "c": "P_MID"}
    result = assign_persons({"a": ["a", "b", "c"]}, previous, set(AGE), rank)
    assert set(result.person_of.values()) == {"P_OLD"}
    assert result.merged == {"P_MID": "P_OLD", "P_NEW": "P_OLD"}
    merges = {(c.person_id, c.other_person_id, c.patient_ids) for c in result.changes if c.kind == "merge"}
    assert merges == {("P_OLD", "P_MID", ("c",)), ("P_OLD", "P_NEW", ("a",))}


def test_split_keeps_the_id_with_the_majority_and_mints_a_new_one() -> None:
    previous = {"a": "P_OLD", "b": "P_OLD", "c": "P_OLD"}
    result = assign_persons({"a": ["a", "b"], "c": ["c"]}, previous, set(AGE), rank)
    assert result.person_of["a"] == result.person_of["b"] == "P_OLD"
    new_id = result.person_of["c"]
    assert new_id not in AGE and result.created == [new_id]
    splits = [c for c in result.changes if c.kind == "split"]
    assert [(s.person_id, s.other_person_id, s.patient_ids) for s in splits] == [(new_id, "P_OLD", ("c",))]


def test_a_person_whose_records_all_left_is_retired() -> None:
    result = assign_persons({"a": ["a"]}, {"a": "P_OLD"}, set(AGE), rank, removed={"z": "P_MID"})
    assert result.retired == ["P_MID"]
    assert {c.kind for c in result.changes} == {"detach", "retire"}


def test_minted_ids_are_deterministic_and_never_reused() -> None:
    first = mint_person_id("hosp.1", set())
    assert first == mint_person_id("hosp.1", set())
    assert first.startswith("P") and len(first) == 13
    second = mint_person_id("hosp.1", {first})
    assert second != first
