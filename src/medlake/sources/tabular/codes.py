"""Code tables (local code → standard code) and units (local spelling → UCUM, with conversions).

Clinical unit conversions are declared in the mapping, never inferred: turning glucose in
mg/dL into mmol/L depends on glucose's molar mass, so the factor belongs to the analyte
(``convert`` on its code table entry), while conversions that hold for any quantity (lb →
kg) are declared once for the mapping. Every factor a conversion uses is therefore in the
file a reviewer reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from medlake.errors import InputError, InvalidRecord

UCUM = "http://unitsofmeasure.org"


class QuantityError(InvalidRecord):
    """A unit that is not known, or a conversion that the mapping does not declare."""


@dataclass(frozen=True)
class Code:
    """One entry of a code table: the local code and the standard code it stands for.

    ``unit``, ``convert`` and ``decimals`` matter for analytes: the UCUM unit results are
    stored in, the factors from other UCUM units to it, and the decimals kept after a
    conversion.
    """

    local: str
    code: str
    system: str | None = None
    display: str | None = None
    local_system: str | None = None
    unit: str | None = None
    convert: dict[str, Decimal] = field(default_factory=dict)
    decimals: int | None = None

    def coding(self) -> dict:
        return {
            key: value
            for key, value in (("system", self.system), ("code", self.code), ("display", self.display))
            if value is not None
        }

    def codings(self) -> list[dict]:
        """The standard coding, then the local one when the table names a local system."""
        codings = [self.coding()]
        if self.local_system:
            codings.append({"system": self.local_system, "code": self.local})
        return codings


@dataclass(frozen=True)
class CodeTable:
    name: str
    entries: dict[str, Code]
    ignore_case: bool = False

    def __post_init__(self) -> None:
        if self.ignore_case:
            folded: dict[str, Code] = {}
            for local, code in self.entries.items():
                key = local.casefold()
                if key in folded:
                    raise InputError(
                        f"code table '{self.name}' ignores case, but {folded[key].local!r} and {local!r} "
                        "differ only in case"
                    )
                folded[key] = code
            object.__setattr__(self, "_folded", folded)

    def lookup(self, local: str) -> Code | None:
        if self.ignore_case:
            return self._folded.get(local.casefold())  # type: ignore[attr-defined]
        return self.entries.get(local)


@dataclass(frozen=True)
class Units:
    """Local unit spellings → UCUM codes, and conversions between UCUM units for any quantity.

    A UCUM code listed as the target of an alias is accepted as itself; spellings are
    matched exactly first, then ignoring case (UCUM itself is case-sensitive, so the
    UCUM code written back is always the declared one).
    """

    aliases: dict[str, str] = field(default_factory=dict)
    conversions: dict[tuple[str, str], Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        known = {ucum: ucum for ucum in self.aliases.values()}
        for source, target in self.conversions:
            known.setdefault(source, source)
            known.setdefault(target, target)
        exact = known | self.aliases
        folded: dict[str, str] = {}
        for spelling, ucum in exact.items():
            folded.setdefault(spelling.casefold(), ucum)
        object.__setattr__(self, "_exact", exact)
        object.__setattr__(self, "_folded", folded)

    def ucum(self, spelling: str) -> str:
        text = spelling.strip()
        found = self._exact.get(text) or self._folded.get(text.casefold())  # type: ignore[attr-defined]
        if found is None:
            raise QuantityError(f"unit {text!r} is not known (add it to the mapping's units)")
        return found

    def factor(self, source: str, target: str, analyte: Code | None) -> Decimal:
        """The factor from ``source`` to ``target`` UCUM units: the analyte's first, then any quantity's."""
        if source == target:
            return Decimal(1)
        if analyte is not None and analyte.unit == target and source in analyte.convert:
            return analyte.convert[source]
        if (source, target) in self.conversions:
            return self.conversions[(source, target)]
        where = f" for {analyte.local!r}" if analyte is not None else ""
        raise QuantityError(f"no conversion from {source} to {target}{where} is declared in the mapping")


def convert_value(value: Decimal, factor: Decimal, decimals: int) -> Decimal:
    """``value × factor`` rounded half-even to ``decimals`` places (exact decimal arithmetic)."""
    if factor == 1:
        return value
    return (value * factor).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
