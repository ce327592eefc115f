"""QRISK3-2017: 10-year risk of cardiovascular disease (Hippisley-Cox, Coupland, Brindle; BMJ 2017).

The arithmetic of ClinRisk's published C code (``cvd_female_raw`` / ``cvd_male_raw``, QRISK3-2017,
LGPL-3), vectorised: fractional polynomials of age and BMI, centred continuous terms, conditional
sums for ethnicity and smoking, interactions with age, then 100·(1 − S^exp(a)). Inputs carry
ClinRisk's own names. The result is rounded as the C code's ``printf("%.1f")`` rounds: the exact
binary value to the nearest tenth. ClinRisk's disclaimer applies to every score this produces:
it is the user's responsibility to check that this implementation gives the same results as the
original code at https://qrisk.org (``tests/warn/test_qrisk3.py`` does, on ClinRisk's test rows).
"""

from __future__ import annotations

import numpy as np

from medlake.warn.scores.registry import Computed, Input, Output, Score, row_messages

# Per sex: 10-year baseline survival, ethnicity (index 1-9) and smoking (0-4) terms, centring.
SURVIVOR_10Y = {"female": 0.988876402378082, "male": 0.977268040180206}
ETHNICITY = {
    "female": (0, 0, 0.2804031433299542500, 0.5629899414207539800, 0.2959000085111651600,
               0.0727853798779825450, -0.1707213550885731700, -0.3937104331487497100,
               -0.3263249528353027200, -0.1712705688324178400),
    "male": (0, 0, 0.2771924876030827900, 0.4744636071493126800, 0.5296172991968937100,
             0.0351001591862990170, -0.3580789966932791900, -0.4005648523216514000,
             -0.4152279288983017300, -0.2632134813474996700),
}  # fmt: skip
SMOKING = {
    "female": (0, 0.1338683378654626200, 0.5620085801243853700, 0.6674959337750254700, 0.8494817764483084700),
    "male": (0, 0.1912822286338898300, 0.5524158819264555200, 0.6383505302750607200, 0.7898381988185801900),
}
CENTRE = {
    "female": dict(
        age_1=0.053274843841791,
        age_2=4.332503318786621,
        bmi_1=0.154946178197861,
        bmi_2=0.144462317228317,
        rati=3.476326465606690,
        sbp=123.130012512207030,
        sbps5=9.002537727355957,
        town=0.392308831214905,
    ),
    "male": dict(
        age_1=0.234766781330109,
        age_2=77.284080505371094,
        bmi_1=0.149176135659218,
        bmi_2=0.141913309693336,
        rati=4.300998687744141,
        sbp=128.571578979492190,
        sbps5=8.756621360778809,
        town=0.526304900646210,
    ),
}
# Main effects of the continuous and boolean terms.
MAIN = {
    "female": dict(
        age_1=-8.1388109247726188,
        age_2=0.7973337668969909800,
        bmi_1=0.2923609227546005200,
        bmi_2=-4.1513300213837665,
        rati=0.1533803582080255400,
        sbp=0.0131314884071034240,
        sbps5=0.0078894541014586095,
        town=0.0772237905885901080,
        b_AF=1.5923354969269663,
        b_atypicalantipsy=0.2523764207011555700,
        b_corticosteroids=0.5952072530460185100,
        b_migraine=0.3012672608703450000,
        b_ra=0.2136480343518194200,
        b_renal=0.6519456949384583300,
        b_semi=0.1255530805882017800,
        b_sle=0.7588093865426769300,
        b_treatedhyp=0.5093159368342300400,
        b_type1=1.7267977510537347,
        b_type2=1.0688773244615468,
        fh_cvd=0.4544531902089621300,
    ),
    "male": dict(
        age_1=-17.839781666005575,
        age_2=0.0022964880605765492,
        bmi_1=2.4562776660536358,
        bmi_2=-8.3011122314711354,
        rati=0.1734019685632711100,
        sbp=0.0129101265425533050,
        sbps5=0.0102519142912904560,
        town=0.0332682012772872950,
        b_AF=0.8820923692805465700,
        b_atypicalantipsy=0.1304687985517351300,
        b_corticosteroids=0.4548539975044554300,
        b_impotence2=0.2225185908670538300,
        b_migraine=0.2558417807415991300,
        b_ra=0.2097065801395656700,
        b_renal=0.7185326128827438400,
        b_semi=0.1213303988204716400,
        b_sle=0.4401572174457522000,
        b_treatedhyp=0.5165987108269547400,
        b_type1=1.2343425521675175,
        b_type2=0.8594207143093222100,
        fh_cvd=0.5405546900939015600,
    ),
}
# Interactions with age_1 and age_2: smoking categories 1-4, then the named terms.
AGE_1 = {
    "female": dict(
        smoke_1=-4.7057161785851891,
        smoke_2=-2.7430383403573337,
        smoke_3=-0.8660808882939218200,
        smoke_4=0.9024156236971064800,
        b_AF=19.938034889546561,
        b_corticosteroids=-0.9840804523593628100,
        b_migraine=1.7634979587872999,
        b_renal=-3.5874047731694114,
        b_sle=19.690303738638292,
        b_treatedhyp=11.872809733921812,
        b_type1=-1.2444332714320747,
        b_type2=6.8652342000009599,
        bmi_1=23.802623412141742,
        bmi_2=-71.184947692087007,
        fh_cvd=0.9946780794043512700,
        sbp=0.0341318423386154850,
        town=-1.0301180802035639,
    ),
    "male": dict(
        smoke_1=-0.2101113393351634600,
        smoke_2=0.7526867644750319100,
        smoke_3=0.9931588755640579100,
        smoke_4=2.1331163414389076,
        b_AF=3.4896675530623207,
        b_corticosteroids=1.1708133653489108,
        b_impotence2=-1.5064009857454310,
        b_migraine=2.3491159871402441,
        b_renal=-0.5065671632722369400,
        b_treatedhyp=6.5114581098532671,
        b_type1=5.3379864878006531,
        b_type2=3.6461817406221311,
        bmi_1=31.004952956033886,
        bmi_2=-111.29157184391643,
        fh_cvd=2.7808628508531887,
        sbp=0.0188585244698658530,
        town=-0.1007554870063731000,
    ),
}
AGE_2 = {
    "female": dict(
        smoke_1=-0.0755892446431930260,
        smoke_2=-0.1195119287486707400,
        smoke_3=-0.1036630639757192300,
        smoke_4=-0.1399185359171838900,
        b_AF=-0.0761826510111625050,
        b_corticosteroids=-0.1200536494674247200,
        b_migraine=-0.0655869178986998590,
        b_renal=-0.2268887308644250700,
        b_sle=0.0773479496790162730,
        b_treatedhyp=0.0009685782358817443600,
        b_type1=-0.2872406462448894900,
        b_type2=-0.0971122525906954890,
        bmi_1=0.5236995893366442900,
        bmi_2=0.0457441901223237590,
        fh_cvd=-0.0768850516984230380,
        sbp=-0.0015082501423272358,
        town=-0.0315934146749623290,
    ),
    "male": dict(
        smoke_1=-0.0004985487027532612100,
        smoke_2=-0.0007987563331738541400,
        smoke_3=-0.0008370618426625129600,
        smoke_4=-0.0007840031915563728900,
        b_AF=-0.0003499560834063604900,
        b_corticosteroids=-0.0002496045095297166000,
        b_impotence2=-0.0011058218441227373,
        b_migraine=0.0001989644604147863100,
        b_renal=-0.0018325930166498813,
        b_treatedhyp=0.0006383805310416501300,
        b_type1=0.0006409780808752897000,
        b_type2=-0.0002469569558886831500,
        bmi_1=0.0050380102356322029,
        bmi_2=-0.0130744830025243190,
        fh_cvd=-0.0002479180990739603700,
        sbp=-0.0000127187419158845700,
        town=-0.0000932996423232728880,
    ),
}


def _raw(sex: str, x: dict[str, np.ndarray], bmi: np.ndarray) -> np.ndarray:
    """ClinRisk's cvd_{female,male}_raw over arrays (unrounded percent)."""
    dage, dbmi = x["age"] / 10, bmi / 10
    if sex == "female":
        age_1, age_2 = dage**-2, dage
    else:
        age_1, age_2 = dage**-1, dage**3
    centre = CENTRE[sex]
    v = {
        "age_1": age_1 - centre["age_1"],
        "age_2": age_2 - centre["age_2"],
        "bmi_1": dbmi**-2 - centre["bmi_1"],
        "bmi_2": dbmi**-2 * np.log(dbmi) - centre["bmi_2"],
        **{name: x[name] - centre[name] for name in ("rati", "sbp", "sbps5", "town")},
        **{name: x[name] for name in MAIN[sex] if name.startswith("b_") or name == "fh_cvd"},
    }
    smoke = x["smoke_cat"].astype(int)
    for category in range(1, 5):
        v[f"smoke_{category}"] = (smoke == category).astype(float)
    a = np.asarray(ETHNICITY[sex])[x["ethrisk"].astype(int)] + np.asarray(SMOKING[sex])[smoke]
    a = a + sum(beta * v[name] for name, beta in MAIN[sex].items())
    a = a + v["age_1"] * sum(beta * v[name] for name, beta in AGE_1[sex].items())
    a = a + v["age_2"] * sum(beta * v[name] for name, beta in AGE_2[sex].items())
    return 100.0 * (1 - SURVIVOR_10Y[sex] ** np.exp(a))


def as_printed(score: np.ndarray) -> np.ndarray:
    """``score`` rounded to one decimal as C's printf("%.1f") does (the exact binary value, not x*10)."""
    rounded = np.round(score, 1)
    scaled = score * 10
    near_tie = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    rows = np.flatnonzero(near_tie & ~np.isnan(score))
    rounded[rows] = [float(f"{v:.1f}") for v in score[rows]]
    return rounded


def compute(x: dict[str, np.ndarray]) -> Computed:
    bmi = x["weight"] / (x["height"] / 100) ** 2
    female = x["gender"] == 1
    usable = ~np.isnan(x["ethrisk"]) & ~np.isnan(x["smoke_cat"])
    safe = {k: np.where(usable, v, 1) if k in ("ethrisk", "smoke_cat") else v for k, v in x.items()}
    score = np.where(female, _raw("female", safe, bmi), _raw("male", safe, bmi))
    outside = ~np.isnan(bmi) & ((bmi < 20) | (bmi > 40))
    reason = row_messages(
        outside, [f"bmi {b:.1f} kg/m2 (weight/height²) outside the validated 20–40" for b in bmi[outside]]
    )
    both = (x["b_type1"] == 1) & (x["b_type2"] == 1)
    return Computed(
        {"qrisk3": as_printed(score)},
        invalid=[(outside, reason), (both, "b_type1 and b_type2 are both 1 (one diabetes status)")],
    )


def _flag(name: str, description: str) -> Input:
    return Input(name, description + " (1|0)", "boolean")


SCORE = Score(
    name="qrisk3",
    title="QRISK3-2017 — 10-year risk of cardiovascular disease (UK)",
    citation="Hippisley-Cox J, Coupland C, Brindle P. Development and validation of QRISK3 risk prediction "
    "algorithms to estimate future risk of cardiovascular disease: prospective cohort study. BMJ. "
    "2017;357:j2099. doi:10.1136/bmj.j2099. Algorithm: ClinRisk Ltd., QRISK3-2017 C source (LGPL-3), "
    "https://qrisk.org",
    validation="every row of ClinRisk's QRISK3-2017 test patients (the QRISK3 R package's QRISK3_2017_test, "
    "scored by ClinRisk's C code) equals QRISK_C_algorithm_score (tests/warn/test_qrisk3.py)",
    inputs=(
        Input("age", "age in whole years", "integer", unit="a", low=25, high=84),
        Input("gender", "1 woman, 0 man", "integer", low=0, high=1),
        _flag("b_AF", "atrial fibrillation"),
        _flag("b_atypicalantipsy", "on atypical antipsychotic medication"),
        _flag("b_corticosteroids", "on regular steroid tablets"),
        _flag("b_impotence2", "erectile dysfunction diagnosed or treated (men)"),
        _flag("b_migraine", "migraine"),
        _flag("b_ra", "rheumatoid arthritis"),
        _flag("b_renal", "chronic kidney disease stage 3, 4 or 5"),
        _flag("b_semi", "severe mental illness"),
        _flag("b_sle", "systemic lupus erythematosus"),
        _flag("b_treatedhyp", "on blood pressure treatment"),
        _flag("b_type1", "type 1 diabetes"),
        _flag("b_type2", "type 2 diabetes"),
        Input("weight", "weight", unit="kg", low=0.1, bounds="plausible"),
        Input("height", "height", unit="cm", low=1, bounds="plausible"),
        Input(
            "ethrisk",
            "ethnicity: 1 white or not stated, 2 Indian, 3 Pakistani, 4 Bangladeshi, 5 other "
            "Asian, 6 black Caribbean, 7 black African, 8 Chinese, 9 other",
            "integer",
            low=1,
            high=9,
        ),
        _flag("fh_cvd", "angina or heart attack in a first-degree relative under 60"),
        Input("rati", "total cholesterol / HDL ratio", low=1, high=12),
        Input("sbp", "systolic blood pressure", unit="mm[Hg]", low=70, high=210),
        Input(
            "sbps5",
            "standard deviation of at least two recent systolic readings",
            unit="mm[Hg]",
            low=0,
            bounds="plausible",
        ),
        Input(
            "smoke_cat",
            "0 non-smoker, 1 ex-smoker, 2 light (< 10/day), 3 moderate (10–19), 4 heavy (≥ 20)",
            "integer",
            low=0,
            high=4,
        ),
        Input(
            "surv",
            "years of the risk horizon (the 2017 algorithm defines 10 only)",
            "integer",
            low=10,
            high=10,
        ),
        Input("town", "Townsend deprivation score", low=-7, high=11),
    ),
    outputs=(Output("qrisk3", "10-year CVD risk in percent, one decimal as ClinRisk's C code prints it"),),
    compute=compute,
    notes="Ranges are those ClinRisk's command-line validation checks for its QRISK-family algorithms (BMI, "
    "from weight and height, 20–40 kg/m²). ClinRisk's disclaimer: inaccurate implementations of risk scores "
    "can lead to wrong patients being given the wrong treatment; check results against https://qrisk.org.",
)
