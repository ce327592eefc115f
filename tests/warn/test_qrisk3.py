"""QRISK3 against ClinRisk's own scores of the QRISK3-2017 test patients.

../shared/reference/qrisk3/qrisk3_2017_test.csv is the QRISK3 R package's QRISK3_2017_test data:
48 patients and ``QRISK_C_algorithm_score``, the 10-year risk ClinRisk's published C code prints for
each. The file comes from the R package, which codes smoking 1-5 (R vectors start at 1; its source
says so); ClinRisk's C function, whose input convention ``qrisk3`` follows, codes it 0-4, so the test
passes ``smoke_cat - 1``. Every other column is used as it is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from medlake.warn.scores import score_frame
from tests.conftest import shared_path


def reference() -> pd.DataFrame:
    return pd.read_csv(shared_path("reference/qrisk3/qrisk3_2017_test.csv"), dtype=str, keep_default_na=False)


def test_every_reference_row_equals_clinrisks_c_score():
    patients = reference()
    assert len(patients) == 48
    patients["smoke_cat"] = (patients["smoke_cat"].astype(int) - 1).astype(str)
    scored = score_frame("qrisk3", patients)
    assert (scored["status"] == "ok").all(), scored["reason"].unique()
    expected = patients["QRISK_C_algorithm_score"].astype(float)
    mismatches = scored.loc[scored["qrisk3"] != expected, ["ID", "qrisk3", "QRISK_C_algorithm_score"]]
    assert mismatches.empty, mismatches
    assert set(patients["gender"]) == {"0", "1"}  # both of ClinRisk's functions are exercised


def test_the_r_packages_smoking_codes_read_as_c_codes_would_not_match():
    """The coding matters: the file's own 1-5 codes, read as C's 0-4, give other scores."""
    scored = score_frame("qrisk3", reference())
    assert (scored["qrisk3"] != scored["QRISK_C_algorithm_score"].astype(float)).all()


def test_bmi_outside_20_to_40_and_two_diabetes_types_are_not_computable():
    patients = reference().head(3).copy()
    patients["smoke_cat"] = "0"
    patients.loc[0, "weight"] = "200"  # BMI 63 at 178 cm
    patients.loc[1, ["b_type1", "b_type2"]] = ["1", "1"]
    patients.loc[2, "age"] = "85"
    scored = score_frame("qrisk3", patients)
    assert scored["status"].tolist() == ["not computable"] * 3
    assert scored["reason"].tolist() == [
        "bmi 63.1 kg/m2 (weight/height²) outside the validated 20–40",
        "b_type1 and b_type2 are both 1 (one diabetes status)",
        "age 85 a outside the validated 25–84 a",
    ]
    assert scored["qrisk3"].isna().all()


def test_rounding_is_printfs_not_round_half_up_of_x_times_ten():
    """C's printf("%.1f") rounds the exact binary value: 0.15 is stored as 0.1499999…, 0.35 as 0.3499999…,
    17.35 as 17.3500000…01; 0.25 and 17.25 are exact ties, which it rounds to even."""
    from medlake.warn.scores.qrisk3 import as_printed

    assert as_printed(np.array([0.15, 0.25, 0.35, 17.25, 17.35])).tolist() == [0.1, 0.2, 0.3, 17.2, 17.4]
