"""The PREVENT equations' coefficients: five models x two horizons x two sexes x three outcomes.

Khan SS et al., Circulation 2024;149:430-449, supplemental Tables S12 (the same numbers as the AHA's
AHAprevent R package). Kept apart from ``prevent.py`` so the arithmetic there stays readable; each
model is a mapping from term name to coefficient, and a term a model lacks counts as zero.
"""

from __future__ import annotations

Model = dict[str, float]


def _model(**terms: float) -> Model:
    return terms


# fmt: off
# Terms: age per 10 y from 55; age2 its square (30-year models); nonhdl in mmol/L from 3.5; hdl per
# 0.3 mmol/L from 1.3; sbp_lt/sbp_gte per 20 mmHg below/above the 110 knot (the upper part from 130);
# bmi_lt/bmi_gte per 5 kg/m² below/above 30 (from 25 and 30); egfr_lt/egfr_gte per -15 mL/min/1.73 m²
# below/above 60 (from 60 and 90); bptx_sbp, statin_nonhdl, age_*: products. Add-on terms: sdi_4_6,
# sdi_7_10 (deciles; 1-3 is the reference), sdi_missing, ln_uacr (mg/g, floored at 0.1), uacr_missing,
# hba1c_dm, hba1c_nodm (% from 5.3, by diabetes status), hba1c_missing.
BASE: dict[tuple[str, str, str], Model] = {
    ("10y", "female", "cvd"): _model(
        const=-3.307728, age=0.7939329, nonhdl=0.0305239, hdl=-0.1606857, sbp_lt=-0.2394003,
        sbp_gte=0.360078, dm=0.8667604, smoking=0.5360739, egfr_lt=0.6045917, egfr_gte=0.0433769,
        bptx=0.3151672, statin=-0.1477655, bptx_sbp=-0.0663612, statin_nonhdl=0.1197879,
        age_nonhdl=-0.0819715, age_hdl=0.0306769, age_sbp=-0.0946348, age_dm=-0.27057,
        age_smoking=-0.078715, age_egfr=-0.1637806),
    ("10y", "female", "ascvd"): _model(
        const=-3.819975, age=0.719883, nonhdl=0.1176967, hdl=-0.151185, sbp_lt=-0.0835358,
        sbp_gte=0.3592852, dm=0.8348585, smoking=0.4831078, egfr_lt=0.4864619, egfr_gte=0.0397779,
        bptx=0.2265309, statin=-0.0592374, bptx_sbp=-0.0395762, statin_nonhdl=0.0844423,
        age_nonhdl=-0.0567839, age_hdl=0.0325692, age_sbp=-0.1035985, age_dm=-0.2417542,
        age_smoking=-0.0791142, age_egfr=-0.1671492),
    ("10y", "female", "hf"): _model(
        const=-4.310409, age=0.8998235, sbp_lt=-0.4559771, sbp_gte=0.3576505, dm=1.038346,
        smoking=0.583916, bmi_lt=-0.0072294, bmi_gte=0.2997706, egfr_lt=0.7451638, egfr_gte=0.0557087,
        bptx=0.3534442, bptx_sbp=-0.0981511, age_sbp=-0.0946663, age_dm=-0.3581041,
        age_smoking=-0.1159453, age_bmi=-0.003878, age_egfr=-0.1884289),
    ("30y", "female", "cvd"): _model(
        const=-1.318827, age=0.5503079, age2=-0.0928369, nonhdl=0.0409794, hdl=-0.1663306,
        sbp_lt=-0.1628654, sbp_gte=0.3299505, dm=0.6793894, smoking=0.3196112, egfr_lt=0.1857101,
        egfr_gte=0.0553528, bptx=0.2894, statin=-0.075688, bptx_sbp=-0.056367, statin_nonhdl=0.1071019,
        age_nonhdl=-0.0751438, age_hdl=0.0301786, age_sbp=-0.0998776, age_dm=-0.3206166,
        age_smoking=-0.1607862, age_egfr=-0.1450788),
    ("30y", "female", "ascvd"): _model(
        const=-1.974074, age=0.4669202, age2=-0.0893118, nonhdl=0.1256901, hdl=-0.1542255,
        sbp_lt=-0.0018093, sbp_gte=0.322949, dm=0.6296707, smoking=0.268292, egfr_lt=0.100106,
        egfr_gte=0.0499663, bptx=0.1875292, statin=0.0152476, bptx_sbp=-0.0276123,
        statin_nonhdl=0.0736147, age_nonhdl=-0.0521962, age_hdl=0.0316918, age_sbp=-0.1046101,
        age_dm=-0.2727793, age_smoking=-0.1530907, age_egfr=-0.1299149),
    ("30y", "female", "hf"): _model(
        const=-2.205379, age=0.6254374, age2=-0.0983038, sbp_lt=-0.3919241, sbp_gte=0.3142295,
        dm=0.8330787, smoking=0.3438651, bmi_lt=0.0594874, bmi_gte=0.2525536, egfr_lt=0.2981642,
        egfr_gte=0.0667159, bptx=0.333921, bptx_sbp=-0.0893177, age_sbp=-0.0974299, age_dm=-0.404855,
        age_smoking=-0.1982991, age_bmi=-0.0035619, age_egfr=-0.1564215),
    ("10y", "male", "cvd"): _model(
        const=-3.031168, age=0.7688528, nonhdl=0.0736174, hdl=-0.0954431, sbp_lt=-0.4347345,
        sbp_gte=0.3362658, dm=0.7692857, smoking=0.4386871, egfr_lt=0.5378979, egfr_gte=0.0164827,
        bptx=0.288879, statin=-0.1337349, bptx_sbp=-0.0475924, statin_nonhdl=0.150273,
        age_nonhdl=-0.0517874, age_hdl=0.0191169, age_sbp=-0.1049477, age_dm=-0.2251948,
        age_smoking=-0.0895067, age_egfr=-0.1543702),
    ("10y", "male", "ascvd"): _model(
        const=-3.500655, age=0.7099847, nonhdl=0.1658663, hdl=-0.1144285, sbp_lt=-0.2837212,
        sbp_gte=0.3239977, dm=0.7189597, smoking=0.3956973, egfr_lt=0.3690075, egfr_gte=0.0203619,
        bptx=0.2036522, statin=-0.0865581, bptx_sbp=-0.0322916, statin_nonhdl=0.114563,
        age_nonhdl=-0.0300005, age_hdl=0.0232747, age_sbp=-0.0927024, age_dm=-0.2018525,
        age_smoking=-0.0970527, age_egfr=-0.1217081),
    ("10y", "male", "hf"): _model(
        const=-3.946391, age=0.8972642, sbp_lt=-0.6811466, sbp_gte=0.3634461, dm=0.923776,
        smoking=0.5023736, bmi_lt=-0.0485841, bmi_gte=0.3726929, egfr_lt=0.6926917, egfr_gte=0.0251827,
        bptx=0.2980922, bptx_sbp=-0.0497731, age_sbp=-0.1289201, age_dm=-0.3040924,
        age_smoking=-0.1401688, age_bmi=0.0068126, age_egfr=-0.1797778),
    ("30y", "male", "cvd"): _model(
        const=-1.148204, age=0.4627309, age2=-0.0984281, nonhdl=0.0836088, hdl=-0.1029824,
        sbp_lt=-0.2140352, sbp_gte=0.2904325, dm=0.5331276, smoking=0.2141914, egfr_lt=0.1155556,
        egfr_gte=0.0603775, bptx=0.232714, statin=-0.0272112, bptx_sbp=-0.0384488, statin_nonhdl=0.134192,
        age_nonhdl=-0.0511759, age_hdl=0.0165865, age_sbp=-0.1101437, age_dm=-0.2585943,
        age_smoking=-0.1566406, age_egfr=-0.1166776),
    ("30y", "male", "ascvd"): _model(
        const=-1.736444, age=0.3994099, age2=-0.0937484, nonhdl=0.1744643, hdl=-0.120203,
        sbp_lt=-0.0665117, sbp_gte=0.2753037, dm=0.4790257, smoking=0.1782635, egfr_lt=-0.0218789,
        egfr_gte=0.0602553, bptx=0.1421182, statin=0.0135996, bptx_sbp=-0.0218265,
        statin_nonhdl=0.1013148, age_nonhdl=-0.0312619, age_hdl=0.020673, age_sbp=-0.0920935,
        age_dm=-0.2159947, age_smoking=-0.1548811, age_egfr=-0.0712547),
    ("30y", "male", "hf"): _model(
        const=-1.95751, age=0.5681541, age2=-0.1048388, sbp_lt=-0.4761564, sbp_gte=0.30324,
        dm=0.6840338, smoking=0.2656273, bmi_lt=0.0833107, bmi_gte=0.26999, egfr_lt=0.2541805,
        egfr_gte=0.0638923, bptx=0.2583631, bptx_sbp=-0.0391938, age_sbp=-0.1269124, age_dm=-0.3273572,
        age_smoking=-0.2043019, age_bmi=-0.0182831, age_egfr=-0.1342618),
}

FULL: dict[tuple[str, str, str], Model] = {
    ("10y", "female", "cvd"): _model(
        const=-3.860385, age=0.7716794, nonhdl=0.0062109, hdl=-0.1547756, sbp_lt=-0.1933123,
        sbp_gte=0.3071217, dm=0.496753, smoking=0.466605, egfr_lt=0.4780697, egfr_gte=0.0529077,
        bptx=0.3034892, statin=-0.1556524, bptx_sbp=-0.0667026, statin_nonhdl=0.1061825,
        age_nonhdl=-0.0742271, age_hdl=0.0288245, age_sbp=-0.0875188, age_dm=-0.2267102,
        age_smoking=-0.0676125, age_egfr=-0.1493231, sdi_4_6=0.1361989, sdi_7_10=0.2261596,
        sdi_missing=0.1804508, ln_uacr=0.1645922, uacr_missing=0.0198413, hba1c_dm=0.1298513,
        hba1c_nodm=0.1412555, hba1c_missing=-0.0031658),
    ("10y", "female", "ascvd"): _model(
        const=-4.291503, age=0.7023067, nonhdl=0.0898765, hdl=-0.1407316, sbp_lt=-0.0256648,
        sbp_gte=0.314511, dm=0.4799217, smoking=0.4062049, egfr_lt=0.3847744, egfr_gte=0.0495174,
        bptx=0.2133861, statin=-0.0678552, bptx_sbp=-0.0451416, statin_nonhdl=0.0788187,
        age_nonhdl=-0.0535985, age_hdl=0.0291762, age_sbp=-0.0961839, age_dm=-0.2001466,
        age_smoking=-0.0586472, age_egfr=-0.1537791, sdi_4_6=0.1413965, sdi_7_10=0.228136,
        sdi_missing=0.1588908, ln_uacr=0.1371824, uacr_missing=0.0061613, hba1c_dm=0.123192,
        hba1c_nodm=0.1410572, hba1c_missing=0.005866),
    ("10y", "female", "hf"): _model(
        const=-4.896524, age=0.884209, sbp_lt=-0.421474, sbp_gte=0.3002919, dm=0.6170359,
        smoking=0.5380269, bmi_lt=-0.0191335, bmi_gte=0.2764302, egfr_lt=0.5975847, egfr_gte=0.0654197,
        bptx=0.3313614, bptx_sbp=-0.1002304, age_sbp=-0.0845363, age_dm=-0.2989062,
        age_smoking=-0.1111354, age_bmi=0.0008104, age_egfr=-0.1666635, sdi_4_6=0.1213034,
        sdi_7_10=0.2314147, sdi_missing=0.1819138, ln_uacr=0.1948135, uacr_missing=0.0395368,
        hba1c_dm=0.176668, hba1c_nodm=0.1614911, hba1c_missing=-0.0010583),
    ("30y", "female", "cvd"): _model(
        const=-1.748475, age=0.5073749, age2=-0.0981751, nonhdl=0.0162303, hdl=-0.1617147,
        sbp_lt=-0.1111241, sbp_gte=0.282946, dm=0.4004069, smoking=0.2918701, egfr_lt=0.1017102,
        egfr_gte=0.0622643, bptx=0.2872416, statin=-0.0768135, bptx_sbp=-0.0557282,
        statin_nonhdl=0.0917585, age_nonhdl=-0.0679131, age_hdl=0.029076, age_sbp=-0.0907755,
        age_dm=-0.2702118, age_smoking=-0.1373216, age_egfr=-0.1255864, sdi_4_6=0.1067741,
        sdi_7_10=0.1853138, sdi_missing=0.1567115, ln_uacr=0.1028065, uacr_missing=-0.0006181,
        hba1c_dm=0.0925285, hba1c_nodm=0.0975598, hba1c_missing=0.0101713),
    ("30y", "female", "ascvd"): _model(
        const=-2.314066, age=0.4386739, age2=-0.0921956, nonhdl=0.0977728, hdl=-0.1453525,
        sbp_lt=0.0590925, sbp_gte=0.2862862, dm=0.3669136, smoking=0.2354695, egfr_lt=0.0354338,
        egfr_gte=0.0573093, bptx=0.1840085, statin=0.0117504, bptx_sbp=-0.0331945,
        statin_nonhdl=0.0664311, age_nonhdl=-0.0492826, age_hdl=0.0288888, age_sbp=-0.0964709,
        age_dm=-0.2279648, age_smoking=-0.120405, age_egfr=-0.1157635, sdi_4_6=0.1107632,
        sdi_7_10=0.1840367, sdi_missing=0.1308962, ln_uacr=0.0810739, uacr_missing=-0.0147785,
        hba1c_dm=0.0794709, hba1c_nodm=0.1002615, hba1c_missing=0.017301),
    ("30y", "female", "hf"): _model(
        const=-2.642208, age=0.5927507, age2=-0.1028754, sbp_lt=-0.3593781, sbp_gte=0.2628556,
        dm=0.5113472, smoking=0.347344, bmi_lt=0.0564656, bmi_gte=0.2363857, egfr_lt=0.1971295,
        egfr_gte=0.0735227, bptx=0.3219386, bptx_sbp=-0.0880321, age_sbp=-0.0863132, age_dm=-0.3425359,
        age_smoking=-0.181405, age_bmi=0.0031285, age_egfr=-0.1356989, sdi_4_6=0.0847634,
        sdi_7_10=0.18397, sdi_missing=0.1485802, ln_uacr=0.1273306, uacr_missing=0.0167008,
        hba1c_dm=0.1378342, hba1c_nodm=0.1138832, hba1c_missing=0.0138979),
    ("10y", "male", "cvd"): _model(
        const=-3.631387, age=0.7847578, nonhdl=0.0534485, hdl=-0.0911282, sbp_lt=-0.4921973,
        sbp_gte=0.2972415, dm=0.4527054, smoking=0.3726641, egfr_lt=0.3886854, egfr_gte=0.0081661,
        bptx=0.2508052, statin=-0.1538484, bptx_sbp=-0.0474695, statin_nonhdl=0.1415382,
        age_nonhdl=-0.0436455, age_hdl=0.0199549, age_sbp=-0.1022686, age_dm=-0.1762507,
        age_smoking=-0.0715873, age_egfr=-0.1428668, sdi_4_6=0.0802431, sdi_7_10=0.275073,
        sdi_missing=0.144759, ln_uacr=0.1772853, uacr_missing=0.1095674, hba1c_dm=0.1165698,
        hba1c_nodm=0.1048297, hba1c_missing=-0.0230072),
    ("10y", "male", "ascvd"): _model(
        const=-3.969788, age=0.7128741, nonhdl=0.1465201, hdl=-0.1125794, sbp_lt=-0.3387216,
        sbp_gte=0.2980252, dm=0.399583, smoking=0.3379111, egfr_lt=0.2582604, egfr_gte=0.0147769,
        bptx=0.1686621, statin=-0.1073619, bptx_sbp=-0.0381038, statin_nonhdl=0.1034169,
        age_nonhdl=-0.0228755, age_hdl=0.0267453, age_sbp=-0.0897449, age_dm=-0.1497464,
        age_smoking=-0.077206, age_egfr=-0.1198368, sdi_4_6=0.0651121, sdi_7_10=0.2676683,
        sdi_missing=0.1388492, ln_uacr=0.1375837, uacr_missing=0.0652944, hba1c_dm=0.101282,
        hba1c_nodm=0.1092726, hba1c_missing=-0.0112852),
    ("10y", "male", "hf"): _model(
        const=-4.663513, age=0.9095703, sbp_lt=-0.6765184, sbp_gte=0.3111651, dm=0.5535052,
        smoking=0.4326811, bmi_lt=-0.0854286, bmi_gte=0.3551736, egfr_lt=0.5102245, egfr_gte=0.015472,
        bptx=0.2570964, bptx_sbp=-0.0591177, age_sbp=-0.1219056, age_dm=-0.2437577,
        age_smoking=-0.105363, age_bmi=0.0037907, age_egfr=-0.1660207, sdi_4_6=0.1106372,
        sdi_7_10=0.3371204, sdi_missing=0.1694628, ln_uacr=0.2164607, uacr_missing=0.1702805,
        hba1c_dm=0.148297, hba1c_nodm=0.1234088, hba1c_missing=-0.0234637),
    ("30y", "male", "cvd"): _model(
        const=-1.504558, age=0.4427595, age2=-0.1064108, nonhdl=0.0629381, hdl=-0.1015427,
        sbp_lt=-0.2542326, sbp_gte=0.2549679, dm=0.333835, smoking=0.1873833, egfr_lt=0.0246102,
        egfr_gte=0.0552014, bptx=0.1979729, statin=-0.0407714, bptx_sbp=-0.0365522,
        statin_nonhdl=0.1232822, age_nonhdl=-0.0441334, age_hdl=0.0177865, age_sbp=-0.1046657,
        age_dm=-0.2116113, age_smoking=-0.1277905, age_egfr=-0.0955922, sdi_4_6=0.0256704,
        sdi_7_10=0.1887637, sdi_missing=0.089241, ln_uacr=0.0894596, uacr_missing=0.0710124,
        hba1c_dm=0.0676202, hba1c_nodm=0.063409, hba1c_missing=0.0038783),
    ("30y", "male", "ascvd"): _model(
        const=-1.985368, age=0.3743566, age2=-0.0995499, nonhdl=0.1544808, hdl=-0.1215297,
        sbp_lt=-0.1083968, sbp_gte=0.2555179, dm=0.2696998, smoking=0.1628432, egfr_lt=-0.077507,
        egfr_gte=0.0583407, bptx=0.1120322, statin=-0.0025063, bptx_sbp=-0.0256116,
        statin_nonhdl=0.0886745, age_nonhdl=-0.0254507, age_hdl=0.0244639, age_sbp=-0.0869146,
        age_dm=-0.165745, age_smoking=-0.1244714, age_egfr=-0.0624552, sdi_4_6=0.015675,
        sdi_7_10=0.1864231, sdi_missing=0.0845697, ln_uacr=0.0560171, uacr_missing=0.0252244,
        hba1c_dm=0.0501422, hba1c_nodm=0.0722905, hba1c_missing=0.0114945),
    ("30y", "male", "hf"): _model(
        const=-2.425439, age=0.5478829, age2=-0.1111928, sbp_lt=-0.4547346, sbp_gte=0.2527602,
        dm=0.4385384, smoking=0.2397952, bmi_lt=0.0640931, bmi_gte=0.2643081, egfr_lt=0.1354588,
        egfr_gte=0.0570689, bptx=0.220666, bptx_sbp=-0.0436769, age_sbp=-0.1168376, age_dm=-0.2730055,
        age_smoking=-0.1573691, age_bmi=-0.0174998, age_egfr=-0.1128676, sdi_4_6=0.057746,
        sdi_7_10=0.2446441, sdi_missing=0.1076782, ln_uacr=0.1233486, uacr_missing=0.1274796,
        hba1c_dm=0.0985062, hba1c_nodm=0.0804844, hba1c_missing=0.0022806),
}

HBA1C: dict[tuple[str, str, str], Model] = {
    ("10y", "female", "cvd"): _model(
        const=-3.306162, age=0.7858178, nonhdl=0.0194438, hdl=-0.1521964, sbp_lt=-0.2296681,
        sbp_gte=0.3465777, dm=0.5366241, smoking=0.5411682, egfr_lt=0.5931898, egfr_gte=0.0472458,
        bptx=0.3158567, statin=-0.1535174, bptx_sbp=-0.0687752, statin_nonhdl=0.1054746,
        age_nonhdl=-0.0761119, age_hdl=0.0307469, age_sbp=-0.0905966, age_dm=-0.2241857,
        age_smoking=-0.080186, age_egfr=-0.1667286, hba1c_dm=0.1338348, hba1c_nodm=0.1622409,
        hba1c_missing=-0.0142496),
    ("10y", "female", "ascvd"): _model(
        const=-3.838746, age=0.7111831, nonhdl=0.106797, hdl=-0.1425745, sbp_lt=-0.0736824,
        sbp_gte=0.3480844, dm=0.5112951, smoking=0.4880292, egfr_lt=0.4754997, egfr_gte=0.0438132,
        bptx=0.2259093, statin=-0.0648872, bptx_sbp=-0.0437645, statin_nonhdl=0.0697082,
        age_nonhdl=-0.0506382, age_hdl=0.0327475, age_sbp=-0.0996442, age_dm=-0.1924338,
        age_smoking=-0.0803539, age_egfr=-0.1682586, hba1c_dm=0.1339055, hba1c_nodm=0.1596461,
        hba1c_missing=0.0015678),
    ("10y", "female", "hf"): _model(
        const=-4.288225, age=0.8997391, sbp_lt=-0.4422749, sbp_gte=0.3378691, dm=0.681284,
        smoking=0.5886005, bmi_lt=-0.0148657, bmi_gte=0.2958374, egfr_lt=0.73447, egfr_gte=0.05926,
        bptx=0.3543475, bptx_sbp=-0.1002139, age_sbp=-0.0878765, age_dm=-0.303684,
        age_smoking=-0.1178943, age_bmi=-0.008345, age_egfr=-0.1912183, hba1c_dm=0.1856442,
        hba1c_nodm=0.1833083, hba1c_missing=-0.0143112),
    ("30y", "female", "cvd"): _model(
        const=-1.341059, age=0.5343493, age2=-0.0952314, nonhdl=0.0298124, hdl=-0.1578451,
        sbp_lt=-0.1504488, sbp_gte=0.3173368, dm=0.4314738, smoking=0.3209399, egfr_lt=0.1771435,
        egfr_gte=0.0582828, bptx=0.2888947, statin=-0.0795886, bptx_sbp=-0.0600438,
        statin_nonhdl=0.0920598, age_nonhdl=-0.0696108, age_hdl=0.0308807, age_sbp=-0.0954051,
        age_dm=-0.2763408, age_smoking=-0.1623944, age_egfr=-0.1430514, hba1c_dm=0.0940543,
        hba1c_nodm=0.1116486, hba1c_missing=-0.0024798),
    ("30y", "female", "ascvd"): _model(
        const=-2.011533, age=0.4555574, age2=-0.0903501, nonhdl=0.1148321, hdl=-0.1458754,
        sbp_lt=0.0089323, sbp_gte=0.3139029, dm=0.386281, smoking=0.2714309, egfr_lt=0.0930987,
        egfr_gte=0.0532216, bptx=0.1862181, statin=0.0106964, bptx_sbp=-0.0329713,
        statin_nonhdl=0.0583609, age_nonhdl=-0.0463273, age_hdl=0.0324717, age_sbp=-0.1004777,
        age_dm=-0.2266944, age_smoking=-0.1541859, age_egfr=-0.1286005, hba1c_dm=0.0875827,
        hba1c_nodm=0.1126417, hba1c_missing=0.0124356),
    ("30y", "female", "hf"): _model(
        const=-2.193553, age=0.6210856, age2=-0.1000972, sbp_lt=-0.3773697, sbp_gte=0.295316,
        dm=0.5681692, smoking=0.3449139, bmi_lt=0.0540094, bmi_gte=0.249767, egfr_lt=0.2875781,
        egfr_gte=0.0692013, bptx=0.3334936, bptx_sbp=-0.0922339, age_sbp=-0.0907885, age_dm=-0.3554646,
        age_smoking=-0.2008846, age_bmi=-0.0079611, age_egfr=-0.156803, hba1c_dm=0.1448336,
        hba1c_nodm=0.1277838, hba1c_missing=-0.0022589),
    ("10y", "male", "cvd"): _model(
        const=-3.040901, age=0.7699177, nonhdl=0.0605093, hdl=-0.0888525, sbp_lt=-0.417713,
        sbp_gte=0.3288657, dm=0.4759471, smoking=0.4385663, egfr_lt=0.5334616, egfr_gte=0.0206431,
        bptx=0.2917524, statin=-0.1383313, bptx_sbp=-0.0482622, statin_nonhdl=0.1393796,
        age_nonhdl=-0.0463501, age_hdl=0.0205926, age_sbp=-0.1037717, age_dm=-0.1737697,
        age_smoking=-0.0915839, age_egfr=-0.1637039, hba1c_dm=0.13159, hba1c_nodm=0.1295185,
        hba1c_missing=-0.0128373),
    ("10y", "male", "ascvd"): _model(
        const=-3.51835, age=0.7064146, nonhdl=0.1532267, hdl=-0.1082166, sbp_lt=-0.2675288,
        sbp_gte=0.3173809, dm=0.432604, smoking=0.3958842, egfr_lt=0.3665014, egfr_gte=0.0250243,
        bptx=0.2061158, statin=-0.0899988, bptx_sbp=-0.0334959, statin_nonhdl=0.1034168,
        age_nonhdl=-0.0255406, age_hdl=0.0247538, age_sbp=-0.0917441, age_dm=-0.1499195,
        age_smoking=-0.098089, age_egfr=-0.1305231, hba1c_dm=0.1157161, hba1c_nodm=0.1288303,
        hba1c_missing=-0.0010001),
    ("10y", "male", "hf"): _model(
        const=-3.961954, age=0.911787, sbp_lt=-0.6568071, sbp_gte=0.3524645, dm=0.5849752,
        smoking=0.5014014, bmi_lt=-0.0512352, bmi_gte=0.365294, egfr_lt=0.6892219, egfr_gte=0.0292377,
        bptx=0.3038296, bptx_sbp=-0.0515032, age_sbp=-0.1262343, age_dm=-0.2449514,
        age_smoking=-0.1392217, age_bmi=0.0009592, age_egfr=-0.1917105, hba1c_dm=0.1652857,
        hba1c_nodm=0.1505859, hba1c_missing=-0.0113444),
    ("30y", "male", "cvd"): _model(
        const=-1.180767, age=0.4519873, age2=-0.101624, nonhdl=0.0700456, hdl=-0.0968005,
        sbp_lt=-0.1923527, sbp_gte=0.2827043, dm=0.3417152, smoking=0.2105272, egfr_lt=0.1113291,
        egfr_gte=0.0640135, bptx=0.2334248, statin=-0.0299421, bptx_sbp=-0.0393204,
        statin_nonhdl=0.1228854, age_nonhdl=-0.0463737, age_hdl=0.0184599, age_sbp=-0.1085744,
        age_dm=-0.2208049, age_smoking=-0.1577978, age_egfr=-0.1179375, hba1c_dm=0.0768169,
        hba1c_nodm=0.0777295, hba1c_missing=0.0092204),
    ("30y", "male", "ascvd"): _model(
        const=-1.777708, age=0.3883267, age2=-0.0958114, nonhdl=0.1613374, hdl=-0.1144418,
        sbp_lt=-0.0474338, sbp_gte=0.2691281, dm=0.2859773, smoking=0.1759553, egfr_lt=-0.0242898,
        egfr_gte=0.0644523, bptx=0.142874, statin=0.0115062, bptx_sbp=-0.02333, statin_nonhdl=0.0899664,
        age_nonhdl=-0.0275478, age_hdl=0.022573, age_sbp=-0.090802, age_dm=-0.1771894,
        age_smoking=-0.1548847, age_egfr=-0.0732754, hba1c_dm=0.0591089, hba1c_nodm=0.0821158,
        hba1c_missing=0.0179755),
    ("30y", "male", "hf"): _model(
        const=-1.974999, age=0.5703729, age2=-0.1084544, sbp_lt=-0.4471767, sbp_gte=0.2910152,
        dm=0.4507242, smoking=0.259585, bmi_lt=0.0850676, bmi_gte=0.2637222, egfr_lt=0.2454706,
        egfr_gte=0.0675649, bptx=0.2611991, bptx_sbp=-0.0408908, age_sbp=-0.1241051, age_dm=-0.2849461,
        age_smoking=-0.2032308, age_bmi=-0.0239714, age_egfr=-0.138301, hba1c_dm=0.1101184,
        hba1c_nodm=0.0949198, hba1c_missing=0.0084192),
}

UACR: dict[tuple[str, str, str], Model] = {
    ("10y", "female", "cvd"): _model(
        const=-3.738341, age=0.7969249, nonhdl=0.0256635, hdl=-0.1588107, sbp_lt=-0.2255701,
        sbp_gte=0.3396649, dm=0.8047515, smoking=0.5285338, egfr_lt=0.4803511, egfr_gte=0.0434472,
        bptx=0.2985207, statin=-0.1497787, bptx_sbp=-0.0742889, statin_nonhdl=0.106756,
        age_nonhdl=-0.0778126, age_hdl=0.0306768, age_sbp=-0.0907168, age_dm=-0.2705122,
        age_smoking=-0.0830564, age_egfr=-0.1389249, ln_uacr=0.1793037, uacr_missing=0.0132073),
    ("10y", "female", "ascvd"): _model(
        const=-4.174614, age=0.7201999, nonhdl=0.1135771, hdl=-0.1493506, sbp_lt=-0.0726677,
        sbp_gte=0.3436259, dm=0.7773094, smoking=0.4746662, egfr_lt=0.3824646, egfr_gte=0.0394178,
        bptx=0.2125182, statin=-0.0603046, bptx_sbp=-0.0466053, statin_nonhdl=0.0733118,
        age_nonhdl=-0.0534262, age_hdl=0.0325689, age_sbp=-0.0999887, age_dm=-0.2411762,
        age_smoking=-0.0826941, age_egfr=-0.1444737, ln_uacr=0.1501217, uacr_missing=0.0050257),
    ("10y", "female", "hf"): _model(
        const=-4.841506, age=0.9145975, sbp_lt=-0.4441346, sbp_gte=0.3260323, dm=0.9611365,
        smoking=0.5755787, bmi_lt=0.0008831, bmi_gte=0.2988964, egfr_lt=0.5915291, egfr_gte=0.0556823,
        bptx=0.3314097, bptx_sbp=-0.1078596, age_sbp=-0.0875231, age_dm=-0.356859,
        age_smoking=-0.1220248, age_bmi=-0.0053637, age_egfr=-0.1610389, ln_uacr=0.2197281,
        uacr_missing=0.0326667),
    ("30y", "female", "cvd"): _model(
        const=-1.583738, age=0.5491768, age2=-0.0937311, nonhdl=0.0359847, hdl=-0.1642965,
        sbp_lt=-0.1483404, sbp_gte=0.313353, dm=0.6253766, smoking=0.3147172, egfr_lt=0.1094663,
        egfr_gte=0.0550705, bptx=0.2782433, statin=-0.0786239, bptx_sbp=-0.0628947, statin_nonhdl=0.093204,
        age_nonhdl=-0.0710685, age_hdl=0.0306363, age_sbp=-0.0951455, age_dm=-0.3168231,
        age_smoking=-0.1636391, age_egfr=-0.1265483, ln_uacr=0.1142251, uacr_missing=-0.0055863),
    ("30y", "female", "ascvd"): _model(
        const=-2.178888, age=0.4629669, age2=-0.0902777, nonhdl=0.1215214, hdl=-0.1522069,
        sbp_lt=0.0092679, sbp_gte=0.3113609, dm=0.581256, smoking=0.263167, egfr_lt=0.0391726,
        egfr_gte=0.0492959, bptx=0.1786178, statin=0.0131058, bptx_sbp=-0.0325135,
        statin_nonhdl=0.0617093, age_nonhdl=-0.0489189, age_hdl=0.0321079, age_sbp=-0.1003185,
        age_dm=-0.2684574, age_smoking=-0.1547301, age_egfr=-0.1130703, ln_uacr=0.0903471,
        uacr_missing=-0.0145818),
    ("30y", "female", "hf"): _model(
        const=-2.538952, age=0.6319513, age2=-0.1009284, sbp_lt=-0.3787175, sbp_gte=0.2863393,
        dm=0.7631221, smoking=0.3355843, bmi_lt=0.0677084, bmi_gte=0.2517238, egfr_lt=0.1940067,
        egfr_gte=0.0664006, bptx=0.3171436, bptx_sbp=-0.0970661, age_sbp=-0.0896239, age_dm=-0.400743,
        age_smoking=-0.2042041, age_bmi=-0.0054699, age_egfr=-0.13602, ln_uacr=0.1486028,
        uacr_missing=0.011608),
    ("10y", "male", "cvd"): _model(
        const=-3.510705, age=0.7768655, nonhdl=0.0659949, hdl=-0.0951111, sbp_lt=-0.420667,
        sbp_gte=0.3120151, dm=0.698521, smoking=0.4314669, egfr_lt=0.3841364, egfr_gte=0.009384,
        bptx=0.2676494, statin=-0.1390966, bptx_sbp=-0.0579315, statin_nonhdl=0.1383719,
        age_nonhdl=-0.0488332, age_hdl=0.0200406, age_sbp=-0.102454, age_dm=-0.2236355,
        age_smoking=-0.089485, age_egfr=-0.1321848, ln_uacr=0.1887974, uacr_missing=0.0916979),
    ("10y", "male", "ascvd"): _model(
        const=-3.85146, age=0.7141718, nonhdl=0.1602194, hdl=-0.1139086, sbp_lt=-0.2719456,
        sbp_gte=0.3058719, dm=0.6600631, smoking=0.3884022, egfr_lt=0.2466316, egfr_gte=0.0151852,
        bptx=0.186167, statin=-0.0894395, bptx_sbp=-0.0411884, statin_nonhdl=0.1058212,
        age_nonhdl=-0.028089, age_hdl=0.0240427, age_sbp=-0.0912325, age_dm=-0.2004894,
        age_smoking=-0.096936, age_egfr=-0.1022867, ln_uacr=0.1510073, uacr_missing=0.0556),
    ("10y", "male", "hf"): _model(
        const=-4.556907, age=0.9111795, sbp_lt=-0.6693649, sbp_gte=0.3290082, dm=0.8377655,
        smoking=0.4978917, bmi_lt=-0.042749, bmi_gte=0.3624165, egfr_lt=0.5075796, egfr_gte=0.0137716,
        bptx=0.2739963, bptx_sbp=-0.0645712, age_sbp=-0.1230039, age_dm=-0.3013297,
        age_smoking=-0.1410318, age_bmi=0.0021531, age_egfr=-0.1548018, ln_uacr=0.2306299,
        uacr_missing=0.1472194),
    ("30y", "male", "cvd"): _model(
        const=-1.398727, age=0.464491, age2=-0.0998895, nonhdl=0.0757606, hdl=-0.1031778,
        sbp_lt=-0.1990714, sbp_gte=0.2715816, dm=0.4754637, smoking=0.2069672, egfr_lt=0.0331103,
        egfr_gte=0.0540474, bptx=0.2189911, statin=-0.0331044, bptx_sbp=-0.04534, statin_nonhdl=0.1214535,
        age_nonhdl=-0.0483995, age_hdl=0.0178997, age_sbp=-0.1059324, age_dm=-0.2492861,
        age_smoking=-0.1561543, age_egfr=-0.1012429, ln_uacr=0.1007571, uacr_missing=0.0572456),
    ("30y", "male", "ascvd"): _model(
        const=-1.873449, age=0.3995607, age2=-0.094557, nonhdl=0.1686692, hdl=-0.1202145,
        sbp_lt=-0.0555561, sbp_gte=0.2633566, dm=0.4362036, smoking=0.1716233, egfr_lt=-0.0775282,
        egfr_gte=0.0561236, bptx=0.1319331, statin=0.0102428, bptx_sbp=-0.0269294,
        statin_nonhdl=0.0920557, age_nonhdl=-0.0297021, age_hdl=0.0217935, age_sbp=-0.0893347,
        age_dm=-0.2081467, age_smoking=-0.1542716, age_egfr=-0.0597254, ln_uacr=0.0684872,
        uacr_missing=0.0193962),
    ("30y", "male", "hf"): _model(
        const=-2.314872, age=0.5750236, age2=-0.1062268, sbp_lt=-0.4633994, sbp_gte=0.2742874,
        dm=0.612208, smoking=0.2614987, bmi_lt=0.0895459, bmi_gte=0.2632424, egfr_lt=0.1430472,
        egfr_gte=0.0535184, bptx=0.2417468, bptx_sbp=-0.0498574, age_sbp=-0.1193827, age_dm=-0.316651,
        age_smoking=-0.2046122, age_bmi=-0.0216878, age_egfr=-0.1165637, ln_uacr=0.1366452,
        uacr_missing=0.1078355),
}

SDI: dict[tuple[str, str, str], Model] = {
    ("10y", "female", "cvd"): _model(
        const=-3.461564, age=0.7754083, nonhdl=0.0221756, hdl=-0.1650828, sbp_lt=-0.2180808,
        sbp_gte=0.3381188, dm=0.8624372, smoking=0.4663953, egfr_lt=0.5919004, egfr_gte=0.0516821,
        bptx=0.3182166, statin=-0.1460816, bptx_sbp=-0.0574455, statin_nonhdl=0.1302287,
        age_nonhdl=-0.083509, age_hdl=0.0282181, age_sbp=-0.0952647, age_dm=-0.2718966,
        age_smoking=-0.0641738, age_egfr=-0.1717026, sdi_4_6=0.1442776, sdi_7_10=0.2421409,
        sdi_missing=0.1885076),
    ("10y", "female", "ascvd"): _model(
        const=-3.955898, age=0.7028123, nonhdl=0.1056078, hdl=-0.1502263, sbp_lt=-0.0488757,
        sbp_gte=0.3402681, dm=0.838022, smoking=0.4064592, egfr_lt=0.4838394, egfr_gte=0.0480415,
        bptx=0.2270648, statin=-0.0585626, bptx_sbp=-0.0349485, statin_nonhdl=0.1017299,
        age_nonhdl=-0.062389, age_hdl=0.0285106, age_sbp=-0.1033711, age_dm=-0.2477845,
        age_smoking=-0.0544326, age_egfr=-0.1735372, sdi_4_6=0.1473705, sdi_7_10=0.2451878,
        sdi_missing=0.1691593),
    ("10y", "female", "hf"): _model(
        const=-4.409382, age=0.8819156, sbp_lt=-0.4495491, sbp_gte=0.3457405, dm=1.02632,
        smoking=0.5371646, bmi_lt=-0.0168447, bmi_gte=0.2805126, egfr_lt=0.7315223, egfr_gte=0.0651679,
        bptx=0.3491487, bptx_sbp=-0.0890335, age_sbp=-0.0971028, age_dm=-0.3528078,
        age_smoking=-0.106216, age_bmi=0.0064998, age_egfr=-0.1899413, sdi_4_6=0.1343318,
        sdi_7_10=0.2496522, sdi_missing=0.1915023),
    ("30y", "female", "cvd"): _model(
        const=-1.493211, age=0.5124233, age2=-0.0978159, nonhdl=0.0322131, hdl=-0.1717884,
        sbp_lt=-0.1364536, sbp_gte=0.3074443, dm=0.6709275, smoking=0.2897728, egfr_lt=0.1670658,
        egfr_gte=0.0618439, bptx=0.2969806, statin=-0.0665514, bptx_sbp=-0.0458917,
        statin_nonhdl=0.1168505, age_nonhdl=-0.0770419, age_hdl=0.027634, age_sbp=-0.0992045,
        age_dm=-0.3208137, age_smoking=-0.134847, age_egfr=-0.1399842, sdi_4_6=0.1129725,
        sdi_7_10=0.1975843, sdi_missing=0.1627381),
    ("30y", "female", "ascvd"): _model(
        const=-2.116951, age=0.4396545, age2=-0.0918489, nonhdl=0.1132729, hdl=-0.1544977,
        sbp_lt=0.036315, sbp_gte=0.3049229, dm=0.6344794, smoking=0.234514, egfr_lt=0.0898312,
        egfr_gte=0.0564502, bptx=0.1933487, statin=0.0220467, bptx_sbp=-0.0229229,
        statin_nonhdl=0.0903326, age_nonhdl=-0.0579383, age_hdl=0.0274011, age_sbp=-0.1039749,
        age_dm=-0.2785102, age_smoking=-0.1167267, age_egfr=-0.1269382, sdi_4_6=0.1149139,
        sdi_7_10=0.1976537, sdi_missing=0.1391241),
    ("30y", "female", "hf"): _model(
        const=-2.317899, age=0.5919097, age2=-0.1023133, sbp_lt=-0.3864727, sbp_gte=0.301876,
        dm=0.8162909, smoking=0.3449647, bmi_lt=0.0574975, bmi_gte=0.2367826, egfr_lt=0.2790347,
        egfr_gte=0.0742645, bptx=0.3352935, bptx_sbp=-0.0772532, age_sbp=-0.0995144, age_dm=-0.4000423,
        age_smoking=-0.1770335, age_bmi=0.0083046, age_egfr=-0.149585, sdi_4_6=0.0960646,
        sdi_7_10=0.1987543, sdi_missing=0.1562214),
    ("10y", "male", "cvd"): _model(
        const=-3.159572, age=0.7756377, nonhdl=0.0715325, hdl=-0.0976775, sbp_lt=-0.5186614,
        sbp_gte=0.3235653, dm=0.7722496, smoking=0.3761129, egfr_lt=0.5180893, egfr_gte=0.0118451,
        bptx=0.2634094, statin=-0.1455263, bptx_sbp=-0.0367013, statin_nonhdl=0.1617785,
        age_nonhdl=-0.0507669, age_hdl=0.0178356, age_sbp=-0.1059337, age_dm=-0.2236755,
        age_smoking=-0.0723216, age_egfr=-0.1548205, sdi_4_6=0.0889119, sdi_7_10=0.291897,
        sdi_missing=0.1508151),
    ("10y", "male", "ascvd"): _model(
        const=-3.624712, age=0.7150087, nonhdl=0.1627339, hdl=-0.1194988, sbp_lt=-0.363659,
        sbp_gte=0.3179476, dm=0.7156422, smoking=0.3404477, egfr_lt=0.3545754, egfr_gte=0.0157875,
        bptx=0.1786233, statin=-0.1018269, bptx_sbp=-0.028313, statin_nonhdl=0.1209467,
        age_nonhdl=-0.0285806, age_hdl=0.0247348, age_sbp=-0.0919494, age_dm=-0.1981491,
        age_smoking=-0.0776891, age_egfr=-0.1284899, sdi_4_6=0.0728242, sdi_7_10=0.2824453,
        sdi_missing=0.1437348),
    ("10y", "male", "hf"): _model(
        const=-4.058977, age=0.894179, sbp_lt=-0.7067398, sbp_gte=0.350241, dm=0.9252453,
        smoking=0.4364765, bmi_lt=-0.0866297, bmi_gte=0.3706765, egfr_lt=0.6696768, egfr_gte=0.0237374,
        bptx=0.2688352, bptx_sbp=-0.0434892, age_sbp=-0.1297155, age_dm=-0.299086,
        age_smoking=-0.1079522, age_bmi=0.0130483, age_egfr=-0.1797791, sdi_4_6=0.1235632,
        sdi_7_10=0.3592212, sdi_missing=0.17924),
    ("30y", "male", "cvd"): _model(
        const=-1.251031, age=0.437377, age2=-0.104443, nonhdl=0.0812573, hdl=-0.1069199,
        sbp_lt=-0.2786727, sbp_gte=0.2729256, dm=0.5279006, smoking=0.1878949, egfr_lt=0.0866569,
        egfr_gte=0.0594948, bptx=0.2028246, statin=-0.0308404, bptx_sbp=-0.0283679,
        statin_nonhdl=0.1439353, age_nonhdl=-0.0510854, age_hdl=0.0150236, age_sbp=-0.1095448,
        age_dm=-0.2561109, age_smoking=-0.1282945, age_egfr=-0.1011023, sdi_4_6=0.0314626,
        sdi_7_10=0.2003953, sdi_missing=0.0927451),
    ("30y", "male", "ascvd"): _model(
        const=-1.836632, age=0.3749788, age2=-0.0990063, nonhdl=0.1708505, hdl=-0.1272841,
        sbp_lt=-0.1275555, sbp_gte=0.2659339, dm=0.4676531, smoking=0.1610104, egfr_lt=-0.0465144,
        egfr_gte=0.0596996, bptx=0.1147096, statin=0.0052906, bptx_sbp=-0.0186687,
        statin_nonhdl=0.1063151, age_nonhdl=-0.0307797, age_hdl=0.0218126, age_sbp=-0.0898242,
        age_dm=-0.210054, age_smoking=-0.1246327, age_egfr=-0.0629358, sdi_4_6=0.0199201,
        sdi_7_10=0.194949, sdi_missing=0.0863835),
    ("30y", "male", "hf"): _model(
        const=-2.060187, age=0.5387527, age2=-0.1090333, sbp_lt=-0.4829094, sbp_gte=0.2843569,
        dm=0.6827667, smoking=0.2406677, bmi_lt=0.0618028, bmi_gte=0.2705615, egfr_lt=0.2255837,
        egfr_gte=0.0653632, bptx=0.2263243, bptx_sbp=-0.0316851, age_sbp=-0.1258716, age_dm=-0.3243709,
        age_smoking=-0.1596172, age_bmi=-0.0103092, age_egfr=-0.1204785, sdi_4_6=0.0680528,
        sdi_7_10=0.2619865, sdi_missing=0.1151424),
}
# fmt: on

MODELS: dict[str, dict[tuple[str, str, str], Model]] = {
    "base": BASE,
    "hba1c": HBA1C,
    "uacr": UACR,
    "sdi": SDI,
    "full": FULL,
}
