"""Links to groups under constraints: identifiers, clerk rejections, existing persons."""

from __future__ import annotations

from medlake.link.grouping import Link, Strength, group_records


def same(grouping, a: str, b: str) -> bool:
    return grouping.group_of[a] == grouping.group_of[b]


def test_a_chain_through_a_record_without_id_cannot_join_two_identifiers() -> None:
    # A(id 1) ~ B(no id) ~ C(id 2): the stronger link wins, the weaker is refused.
    links = [Link("a", "b", Strength.MODEL, 0.99), Link("b", "c", Strength.MODEL, 0.97)]
    grouping = group_records(["a", "b", "c"], links, {"a": "1", "c": "2"}, {})
    assert same(grouping, "a", "b")
    assert not same(grouping, "b", "c")
    assert grouping.refused == [links[1]]


def test_order_is_by_strength_then_probability_not_input_order() -> None:
    links = [
        Link("b", "c", Strength.MODEL, 0.96),
        Link("a", "b", Strength.MODEL, 0.999),
        Link("c", "d", Strength.IDENTIFIER),
    ]
    grouping = group_records(["a", "b", "c", "d"], links, {"a": "1", "d": "2", "c": "2"}, {})
    # c~d share id 2 (applied first); a~b next; b~c would join ids 1 and 2: refused.
    assert same(grouping, "c", "d") and same(grouping, "a", "b")
    assert not same(grouping, "a", "d")
    assert [(r.left, r.right) for r in grouping.refused] == [("b", "c")]


def test_clerk_link_overrides_an_identifier_conflict_but_not_a_rejection() -> None:
    grouping = group_records(["a", "b"], [Link("a", "b", Strength.CLERK)], {"a": "1", "b": "2"}, {})
    assert same(grouping, "a", "b")
    assert grouping.basis_of["a"] == "clerk decision"

    cannot = {"a": {"c"}, "c": {"a"}}
    links = [Link("a", "b", Strength.CLERK), Link("b", "c", Strength.CLERK)]
    grouping = group_records(["a", "b", "c"], links, {}, cannot)
    assert same(grouping, "a", "b")
    assert not same(grouping, "a", "c"), "a rejected pair stays apart even through a third record"


def test_rejection_is_checked_across_whole_groups() -> None:
    cannot = {"a": {"d"}, "d": {"a"}}
    start = [["a", "b"], ["c", "d"]]
    grouping = group_records(["a", "b", "c", "d"], [Link("b", "c", Strength.MODEL, 0.99)], {}, cannot, start)
    assert not same(grouping, "b", "c")
    assert same(grouping, "a", "b") and same(grouping, "c", "d"), "start groups are kept"


def test_existing_groups_grow_by_new_links() -> None:
    grouping = group_records(
        ["a", "b", "n"], [Link("b", "n", Strength.MODEL, 0.99)], {}, {}, start_groups=[["a", "b"]]
    )
    assert len({grouping.group_of[r] for r in "abn"}) == 1
    assert "a" not in grouping.basis_of, "a joined no link in this run"
    assert grouping.basis_of["n"] == "match probability"


def test_without_a_model_only_verified_shared_ids_link() -> None:
    import pyarrow as pa

    from medlake.link.settings import LinkSettings
    from medlake.mpi.run import _shared_identifier_links

    valid, invalid = "1234567897", "1234567890"  # Luhn: ...7 passes, ...0 does not
    table = pa.table(
        {
            "record_id": ["a.1", "b.1", "c.1", "d.1", "e.1"],
            "identifier": [valid, valid, invalid, invalid, None],
        }
    )
    links = _shared_identifier_links(table, LinkSettings(identifier_check="luhn"))
    assert [(link.left, link.right, link.strength) for link in links] == [("a.1", "b.1", Strength.IDENTIFIER)]
    assert _shared_identifier_links(table, LinkSettings(identifier_is_trusted=False)) == []
