"""The UCUM units the scores accept, and conversion to each input's canonical unit.

An explicit table rather than pint: the inputs arrive as UCUM codes (FHIR ``Quantity.code``:
``mm[Hg]``, ``Cel``, ``[degF]``, ``mL/min/{1.73_m2}``), which pint's grammar does not parse, and
the conversions a clinician needs most (mmol/L to mg/dL) are not physics but chemistry: the
factor is the analyte's molar mass, which differs for cholesterol and glucose and which pint
would need a hand-written context for anyway. The table below is every conversion the scores
accept, each factor with its source; an input in any other unit is "not computable", never
guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medlake.errors import InputError

# Common spellings people type in a CSV header or unit column, mapped to the UCUM code.
ALIASES: dict[str, str] = {
    "mmHg": "mm[Hg]",
    "mm Hg": "mm[Hg]",
    "°C": "Cel",
    "degC": "Cel",
    "°F": "[degF]",
    "degF": "[degF]",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "in": "[in_i]",
    "inch": "[in_i]",
    "years": "a",
    "year": "a",
    "bpm": "/min",
    "{beats}/min": "/min",
    "{breaths}/min": "/min",
    "mg/dl": "mg/dL",
    "mmol/l": "mmol/L",
    "mL/min/1.73m2": "mL/min/{1.73_m2}",
}


@dataclass(frozen=True)
class Linear:
    """``canonical = value * factor + offset``."""

    factor: float
    offset: float = 0.0


# Conversions that depend on what is measured: keyed by analyte, then (source, target).
# mmol/L -> mg/dL multiplies by molar mass / 10: cholesterol by the 38.67 laboratories and the ACC/AHA
# calculators use (PREVENT's 0.02586 is its inverse), glucose (C6H12O6, 180.156 g/mol) by 18.0156.
# HbA1c: IFCC mmol/mol to NGSP % by the IFCC-NGSP master equation, NGSP = 0.09148 IFCC + 2.152.
# UACR: creatinine 113.12 g/mol, so 1 mg/mmol = 1000/113.12 mg/g.
_BY_ANALYTE: dict[str, dict[tuple[str, str], Linear]] = {
    "cholesterol": {("mmol/L", "mg/dL"): Linear(38.67)},
    "glucose": {("mmol/L", "mg/dL"): Linear(18.0156)},
    "hba1c": {("mmol/mol", "%"): Linear(0.09148, 2.152)},
    "uacr": {("mg/mmol", "mg/g"): Linear(1000 / 113.12)},
}

# Physical conversions, the same whatever is measured: for each canonical unit, the others accepted.
_TO_CANONICAL: dict[str, dict[str, Linear]] = {
    "Cel": {"[degF]": Linear(5 / 9, -32 * 5 / 9), "K": Linear(1.0, -273.15)},
    # 1 mmHg = 133.322387415 Pa (UCUM: mm[Hg] = 133.3220 Pa; BIPM conventional value)
    "mm[Hg]": {"kPa": Linear(1000 / 133.322387415)},
    "kg": {"g": Linear(0.001), "[lb_av]": Linear(0.45359237)},
    "cm": {"m": Linear(100.0), "mm": Linear(0.1), "[in_i]": Linear(2.54)},
}


class UnitError(InputError):
    """A unit that is not UCUM, or not convertible to the input's unit."""


def normalise(code: str) -> str:
    """The UCUM code for ``code`` (accepting the few aliases above)."""
    code = code.strip()
    return ALIASES.get(code, code)


def _inverse(step: Linear) -> Linear:
    return Linear(1 / step.factor, -step.offset / step.factor)


def conversion(source: str, target: str, analyte: str | None = None) -> Linear:
    """How to turn values in ``source`` into ``target`` (both UCUM; ``analyte`` for chemical conversions)."""
    source, target = normalise(source), normalise(target)
    if source == target:
        return Linear(1.0)
    chemical = _BY_ANALYTE.get(analyte or "", {})
    if (source, target) in chemical:
        return chemical[(source, target)]
    if (target, source) in chemical:
        return _inverse(chemical[(target, source)])
    if source in _TO_CANONICAL.get(target, {}):
        return _TO_CANONICAL[target][source]
    if target in _TO_CANONICAL.get(source, {}):
        return _inverse(_TO_CANONICAL[source][target])
    raise UnitError(f"{source!r} is not a unit convertible to {target}")


def convert(values: np.ndarray, source: str, target: str, analyte: str | None = None) -> np.ndarray:
    """``values`` (in ``source``) expressed in ``target``."""
    step = conversion(source, target, analyte)
    return values * step.factor + step.offset


def accepted(target: str, analyte: str | None = None) -> list[str]:
    """Every unit code an input in ``target`` accepts, for ``medlake score --list``."""
    codes = [target, *_TO_CANONICAL.get(target, {})]
    codes += [unit for unit, table in _TO_CANONICAL.items() if target in table]
    for source, canonical in _BY_ANALYTE.get(analyte or "", {}):
        codes.append(source if canonical == target else canonical)
    return list(dict.fromkeys(codes))
