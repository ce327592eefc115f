"""The nickname table: the ``nicknames`` package's data, cleaned like given names, plus ADDITIONS."""

from __future__ import annotations

from nicknames import NickNamer

from medlake.link.nicknames import ADDITIONS, are_nicknames, canonical_names, nickname_group
from medlake.synth.names import NICKNAMES


def test_every_nickname_the_synthetic_region_uses_is_recognised() -> None:
    """The region files people under these nicknames; a missing one keeps the person apart."""
    missing = [
        (formal, nick)
        for formal, nicks in NICKNAMES.items()
        for nick in nicks
        if not are_nicknames(formal.lower(), nick.lower())
    ]
    assert not missing, f"nicknames of medlake.synth.names the linkage table does not know: {missing}"


def test_known_pairs_and_the_non_transitivity_of_shared_nicknames() -> None:
    assert are_nicknames("teresa", "terry") and are_nicknames("terry", "teresa")
    assert are_nicknames("theresa", "terry")
    assert are_nicknames("rebecca", "becky")
    assert are_nicknames("bill", "william") and are_nicknames("bill", "will")
    # "al" may stand for Albert or Alan, which are not therefore one name.
    assert are_nicknames("al", "albert") and are_nicknames("al", "alan")
    assert not are_nicknames("alan", "albert")
    assert not are_nicknames("rebecca", "teresa")
    assert nickname_group("zebedeeus") is None and nickname_group(None) is None
    assert nickname_group("") is None


def test_the_table_is_the_package_data() -> None:
    """Every canonical-nickname pair of the package is in the table (after cleaning)."""
    lookup = NickNamer().nickname_lookup
    assert len(lookup) > 1000, "the package's names.csv was read"
    table = canonical_names()
    absent = [
        (canonical, nick)
        for canonical, nicks in lookup.items()
        for nick in nicks
        if nick.isalpha() and canonical not in table.get(nick, ())
    ]
    assert not absent, absent[:10]
    assert all(canonical in table[canonical] for canonical in lookup), "a canonical stands for itself"


def test_names_are_cleaned_like_standardised_given_names() -> None:
    """standardise() keeps letters only, so the package's "k.c." must be found as "kc"."""
    assert all(name.isalpha() and name.islower() and name.isascii() for name in canonical_names())
    assert are_nicknames("kc", "casey")


def test_additions_are_still_missing_from_the_package() -> None:
    """Once the package knows an addition, it should be dropped from ADDITIONS (and proposed upstream)."""
    lookup = NickNamer().nickname_lookup
    known = [(c, n) for c, nicks in ADDITIONS.items() for n in nicks if n in lookup.get(c, set())]
    assert not known, f"the nicknames package has these now; remove them from ADDITIONS: {known}"
    assert all(are_nicknames(c, n) for c, nicks in ADDITIONS.items() for n in nicks)
