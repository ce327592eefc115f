"""The knobs of the master patient index, in one frozen object.

Thresholds decide who gets merged automatically and who lands in front of a clerk, so they
must be explicit, reviewable and identical for every run that claims to use "the same model";
a frozen dataclass gives that (hashable, printable, no accidental mutation mid-run).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, get_args

from medlake.config import IdentifierCheck, check_link_thresholds
from medlake.errors import InputError

Backend = Literal["duckdb", "spark"]
#: How a national identifier proves it was copied correctly: not at all, a Luhn check digit (10-digit
#: national ids, most card and social-insurance numbers), or ISO 7064 MOD 11-2 (18-character
#: resident ids, ORCID/ISNI; the last character may be X). ``IdentifierCheck`` is defined with the
#: settings, whose ``[link]`` table takes the same values.
IDENTIFIER_CHECKS: tuple[str, ...] = get_args(IdentifierCheck)


@dataclass(frozen=True)
class LinkSettings:
    """How records are linked; the defaults are the ones evaluated in docs/linkage.md.

    ``match_threshold``: a pair whose model match probability is at least this is linked
    automatically (unless a rule below forbids it). ``review_threshold``: pairs from here up to
    the match threshold, and forbidden auto-links, go to clerical review.

    ``identifier_is_trusted``: when true the ``identifier`` column is a verified national id:
    equal ids are a match whatever the model says, and different ids are never merged
    automatically. Set it to false for identifiers known to carry typos (FEBRL's soc_sec_id);
    the identifier then is ordinary probabilistic evidence.

    ``identifier_check``: with trusted identifiers, only an id that passes this check digit is
    verified, and the trusted rules (equal ids link, different ids are never merged, no person
    holds two ids) hold only between two verified ids. An id that fails its check digit was
    mistyped somewhere, so it is certainly not the person's id as issued: "different" from the
    correct id then says nothing about identity, and it stays ordinary evidence (its "one
    typo" level). The default is "luhn", the region's scheme. "none" verifies every present id:
    for clean ids without a check digit (noisy ones, like FEBRL's soc_sec_id, are better left
    untrusted). See docs/linkage.md, "Verified identifiers".
    """

    match_threshold: float = 0.95
    review_threshold: float = 0.50
    identifier_is_trusted: bool = True
    identifier_check: IdentifierCheck = "luhn"
    #: Where Splink runs its SQL. "duckdb" is in-process; "spark" needs pyspark and a session.
    backend: Backend = "duckdb"
    #: DuckDB only: worker threads (None = DuckDB's default, all cores) and a memory cap like "8GB".
    threads: int | None = None
    memory_limit: str | None = None
    #: Record pairs sampled to estimate u (how often non-matches agree by chance).
    u_max_pairs: float = 2e6
    #: Upper bound on blocked pairs per EM session (None = all). Caps training time on big tables.
    em_max_pairs: float | None = 2e6
    #: Seed for u sampling, so that the same data gives the same model.
    seed: int = 1729
    #: Down-weight agreement on common values (Smith, Maria) by their frequency.
    term_frequency_adjustments: bool = True
    #: Blocking rules used at prediction time; names from medlake.link.blocking.PREDICTION_RULES.
    blocking_rules: tuple[str, ...] = field(
        default=(
            "birth_date",
            "postcode_family_phonetic",
            "initials_birth_year_month",
            "names",
            "phone",
            "identifier",
            "swapped_names",
        )
    )

    def __post_init__(self) -> None:
        try:  # the same rule as the workspace's [link] settings
            check_link_thresholds(self.match_threshold, self.review_threshold)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if self.identifier_check not in IDENTIFIER_CHECKS:
            raise InputError(
                f"identifier_check must be one of {', '.join(IDENTIFIER_CHECKS)}, "
                f"got {self.identifier_check!r}"
            )
        if self.backend not in ("duckdb", "spark"):
            raise InputError(f"backend must be 'duckdb' or 'spark', got {self.backend!r}")
        if not self.blocking_rules:
            raise InputError("at least one blocking rule is needed to generate candidate pairs")

    def with_changes(self, **changes: Any) -> LinkSettings:
        """A copy with some fields changed (validated again), for CLI options and experiments."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
