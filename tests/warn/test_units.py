"""UCUM conversions against reference values (definitions and published equivalences)."""

from __future__ import annotations

import numpy as np
import pytest

from medlake.warn.scores.units import UnitError, accepted, convert


@pytest.mark.parametrize(
    ("value", "source", "target", "analyte", "expected", "tolerance"),
    [
        (212.0, "[degF]", "Cel", None, 100.0, 1e-12),  # water boils: 212 °F = 100 °C
        (32.0, "[degF]", "Cel", None, 0.0, 1e-12),  # and freezes at 32 °F = 0 °C
        (-40.0, "Cel", "[degF]", None, -40.0, 1e-12),  # the scales cross at -40
        (310.15, "K", "Cel", None, 37.0, 1e-12),
        (101.325, "kPa", "mm[Hg]", None, 760.0, 1e-3),  # one standard atmosphere
        (760.0, "mmHg", "kPa", None, 101.325, 1e-4),  # the alias for mm[Hg]
        (5.0, "mmol/L", "mg/dL", "cholesterol", 193.35, 1e-9),  # 38.67 mg/dL per mmol/L (molar mass 386.65)
        (200.0, "mg/dL", "mmol/L", "cholesterol", 200 / 38.67, 1e-12),
        (5.5, "mmol/L", "mg/dL", "glucose", 99.09, 0.01),  # 180.16 g/mol: 5.5 mmol/L ≈ 99 mg/dL
        (126.0, "mg/dL", "mmol/L", "glucose", 7.0, 0.01),  # the diabetes threshold both ways (WHO/ADA)
        (48.0, "mmol/mol", "%", "hba1c", 6.5, 0.05),  # 48 mmol/mol = 6.5 % (IFCC-NGSP, ADA/IFCC consensus)
        (53.0, "mmol/mol", "%", "hba1c", 7.0, 0.05),
        (3.0, "mg/mmol", "mg/g", "uacr", 26.5, 0.1),  # KDIGO A2 starts at 3 mg/mmol ≈ 30 mg/g (rounded)
        (154.0, "[lb_av]", "kg", None, 69.853, 1e-3),  # the avoirdupois pound is 0.45359237 kg exactly
        (70.0, "[in_i]", "cm", None, 177.8, 1e-9),  # the international inch is 2.54 cm exactly
        (1.78, "m", "cm", None, 178.0, 1e-9),
    ],
)
def test_reference_conversions(value, source, target, analyte, expected, tolerance):
    assert convert(np.array([value]), source, target, analyte)[0] == pytest.approx(expected, abs=tolerance)


def test_cholesterol_and_glucose_use_different_factors():
    as_cholesterol = convert(np.array([1.0]), "mmol/L", "mg/dL", "cholesterol")[0]
    as_glucose = convert(np.array([1.0]), "mmol/L", "mg/dL", "glucose")[0]
    assert as_cholesterol == pytest.approx(38.67) and as_glucose == pytest.approx(18.0156)


@pytest.mark.parametrize(
    ("source", "target", "analyte"),
    [
        ("mmol/L", "mg/dL", None),  # no analyte, no molar mass: refused, not guessed
        ("mmol/mol", "%", None),  # an SpO2 in % is not an HbA1c
        ("mg/dL", "Cel", None),
        ("C", "Cel", None),  # 'C' is the coulomb in UCUM, not an alias for Celsius
        ("furlong", "cm", None),
    ],
)
def test_unconvertible_units_are_refused(source, target, analyte):
    with pytest.raises(UnitError):
        convert(np.array([1.0]), source, target, analyte)


def test_accepted_units_for_list():
    assert accepted("mg/dL", "cholesterol") == ["mg/dL", "mmol/L"]
    assert accepted("%") == ["%"]
    assert accepted("%", "hba1c") == ["%", "mmol/mol"]
    assert set(accepted("Cel")) == {"Cel", "[degF]", "K"}
