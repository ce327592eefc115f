"""A small collection of health-information articles in MedQuAD's format, for the tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

ARTICLES: list[dict] = [
    {
        "id": "TIA_1",
        "question": "What is (are) Transient Ischemic Attack ?",
        "answer": "A transient ischemic attack (TIA) is a brief blockage of blood flow to the brain. "
        "Call for help at once: a TIA is a warning that a stroke may follow.",
        "url": "https://example.org/tia",
        "focus": "Transient Ischemic Attack",
        "synonyms": ["Mini-stroke", "TIA"],
        "cuis": ["C0007787"],
        "source": "MPlusHealthTopics",
    },
    {
        "id": "STROKE_1",
        "question": "What is (are) Stroke ?",
        "answer": "A stroke happens when blood flow to part of the brain stops. Brain cells begin to die. "
        "Act fast: stroke is a medical emergency.",
        "url": "https://example.org/stroke",
        "focus": "Stroke",
        "synonyms": ["Brain attack", "CVA"],
        "cuis": ["C0038454"],
        "source": "MPlusHealthTopics",
    },
    {
        "id": "STROKE_2",
        "question": "What are the treatments for Stroke ?",
        "answer": "Treatment for a stroke depends on whether it is caused by a blood clot or by bleeding.",
        "url": "https://example.org/stroke",
        "focus": "Stroke",
        "synonyms": [],
        "cuis": ["C0038454"],
        "source": "NINDS",
    },
    {
        "id": "HBP_1",
        "question": "What is (are) High Blood Pressure ?",
        "answer": "Blood pressure is the force of your blood pushing against the walls of your arteries. "
        "High blood pressure, or hypertension, raises your risk of heart disease and stroke.",
        "url": "https://example.org/hbp",
        "focus": "High Blood Pressure",
        "synonyms": ["Essential hypertension", "HBP", "HTN"],
        "cuis": ["C0020538"],
        "source": "MPlusHealthTopics",
    },
    {
        "id": "HEART_1",
        "question": "What are the symptoms of Heart Attack ?",
        "answer": "Symptoms of a heart attack include chest pain and shortness of breath.",
        "url": "https://example.org/heart-attack",
        "focus": "Heart Attack",
        "synonyms": ["MI", "Myocardial infarction"],
        "cuis": ["C0027051"],
        "source": "MPlusHealthTopics",
    },
    {
        "id": "DM2_1",
        "question": "What is (are) Diabetes Type 2 ?",
        "answer": "Type 2 diabetes is the most common form of diabetes: your blood glucose is too high.",
        "url": "https://example.org/diabetes-type-2",
        "focus": "Diabetes Type 2",
        "synonyms": ["Adult-onset diabetes"],
        "cuis": ["C0011860"],
        "source": "MPlusHealthTopics",
    },
    {
        "id": "COMBO_1",
        "question": "What is (are) Diabetes, Heart Disease, and Stroke ?",
        "answer": "Having diabetes means you are more likely to have heart disease or a stroke.",
        "url": "https://example.org/combo",
        "focus": "Diabetes, Heart Disease, and Stroke",
        "synonyms": [],
        "cuis": ["C0011860", "C0038454", "C0018799"],
        "source": "NIDDK",
    },
    {
        "id": "NOONAN_1",
        "question": "What is (are) Noonan syndrome ?",
        "answer": "Noonan syndrome is a condition that affects many areas of the body.",
        "url": "https://example.org/noonan",
        "focus": "Noonan syndrome",
        "synonyms": ["Male Turner syndrome"],
        "cuis": ["C0028326"],
        "source": "GHR",
    },
    {
        "id": "ZH_1",
        "title": "高血压患者的饮食",
        "text": "高血压患者应当减少食盐摄入，多吃蔬菜水果，并定期测量血压。",
        "url": "https://example.org/zh/hypertension-diet",
        "focus": "高血压",
        "synonyms": [],
        "cuis": [],
    },
]


def write(path: Path, rows: list[dict] | None = None, extra_lines: list[str] = ()) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in (ARTICLES if rows is None else rows)] + list(
        extra_lines
    )
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


#: Articles about the synthetic region's chronic conditions (MedQuAD's wording and concept ids).
CHRONIC: list[dict] = [
    {
        "id": f"{key}_{n}",
        "question": f"{question} {focus} ?",
        "answer": f"{focus}: what it is, how it is treated and how to live with it.",
        "url": f"https://example.org/{key.lower()}",
        "focus": focus,
        "synonyms": synonyms,
        "cuis": cuis,
        "source": "MPlusHealthTopics",
    }
    for key, focus, synonyms, cuis in (
        ("HBP", "High Blood Pressure", ["Essential hypertension", "HBP", "HTN"], ["C0020538"]),
        ("DM2", "Diabetes Type 2", [], ["C0011860"]),
        ("AF", "Atrial Fibrillation", ["AF", "AFib"], ["C1963067", "C0004238"]),
        ("CHD", "Heart Diseases", [], ["C0018799"]),
        ("MI", "Heart Attack", ["MI", "Myocardial infarction"], ["C0027051"]),
        ("STROKE", "Stroke", ["Brain attack", "CVA"], ["C0038454"]),
        ("LIPID", "Cholesterol", ["HDL", "Hypercholesterolemia", "Hyperlipidemia"], []),
        ("CKD", "Chronic Kidney Disease", [], ["C1561643", "C0403447"]),
        ("ASTHMA", "Asthma", [], ["C0004096"]),
        ("OBESITY", "Obesity", [], ["C0028754", "C1963185"]),
        ("COMBO", "Diabetes, Heart Disease, and Stroke", [], ["C0011860", "C0038454", "C0018799"]),
        ("NOONAN", "Noonan syndrome", [], ["C0028326"]),
    )
    for n, question in enumerate(("What is (are)", "What are the treatments for"), start=1)
]
