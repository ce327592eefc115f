"""Personalised health information on the synthetic region: relevance and restraint.

A region is synthesised, ingested, built and linked (``MasterPatientIndex``); the MedQuAD articles
(``../shared/reference/medquad/``) are loaded and the graph built from ICD-10, HPO and the
articles; then every resident gets ``medlake recommend``'s five articles. Printed:

* per chronic condition, among residents with an active diagnosis of it, the share who got at
  least one article about it;
* the share of all recommendations about a condition the resident has no record of (any
  status, any institution), split by what pointed to it: a diagnosis or prescription (should be
  zero), or an abnormal result (a warning, allowed by the rules).

What an article is about is judged by its UMLS concept ids (or, for articles that have none, its
focus) against the region's own code table (``medlake.synth.terminology``), independently of the
recommender's route through names, codes and the graph.

    PYTHONPATH=src .venv/bin/python bench/recommend_eval.py [--residents 500] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from medlake.build.run import build_all
from medlake.ingest import ingest_path
from medlake.knowledge import tables
from medlake.knowledge.build import build_graph
from medlake.knowledge.recommend import Recommender
from medlake.knowledge.store import load_articles
from medlake.mpi import MasterPatientIndex
from medlake.synth import generate_region
from medlake.synth import terminology as T
from medlake.workspace import init_workspace, open_workspace

SHARED = Path(os.environ.get("MEDLAKE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
ARTICLES = SHARED / "reference" / "medquad" / "medquad.jsonl.gz"

#: condition -> (its concept in the region, UMLS ids of articles about it, foci of articles without ids)
TRUTH: dict[str, tuple[T.Concept | tuple[T.Concept, ...], set[str], set[str]]] = {
    "hypertension": (T.HYPERTENSION, {"C0020538", "C0085580"}, set()),
    "type 2 diabetes": (T.DIABETES_T2, {"C0011860", "C0011849"}, set()),
    "atrial fibrillation": (T.ATRIAL_FIBRILLATION, {"C0004238"}, set()),
    "coronary heart disease": (
        T.CORONARY_HEART_DISEASE,
        {"C0010054", "C0010068", "C0018799", "C0151744"},
        set(),
    ),
    "myocardial infarction": (T.MYOCARDIAL_INFARCTION, {"C0027051"}, set()),
    "stroke": (T.STROKE, {"C0038454", "C0948008"}, set()),
    "hyperlipidaemia": (T.HYPERLIPIDAEMIA, {"C0020473", "C0020443", "C3842522"}, {"cholesterol"}),
    "chronic kidney disease": (T.CHRONIC_KIDNEY_DISEASE_3, {"C1561643", "C0022658"}, set()),
    "asthma": (T.ASTHMA, {"C0004096"}, set()),
    "obesity": (T.OBESITY, {"C0028754"}, set()),
    "knee osteoarthritis": (T.OSTEOARTHRITIS_OF_KNEE, {"C0029408", "C0409959"}, set()),
    "cataract": (T.CATARACT, {"C0086543"}, set()),
    # acute conditions: not measured for coverage, but an article about one is "about a condition"
    "influenza": ((T.INFLUENZA, T.INFLUENZA_LIKE_ILLNESS), {"C0021400"}, set()),
    "pneumonia": (T.PNEUMONIA, {"C0032285"}, set()),
    "sepsis": (T.SEPSIS, {"C0243026", "C0036690"}, set()),
    "urinary tract infection": (T.URINARY_TRACT_INFECTION, {"C0042029"}, set()),
    "gastroenteritis": (T.GASTROENTERITIS, {"C0017160"}, set()),
    "salmonellosis": (T.SALMONELLOSIS, {"C0036117"}, set()),
    "bronchitis": (T.ACUTE_BRONCHITIS, {"C0149514", "C0006277"}, set()),
    "otitis media": (T.OTITIS_MEDIA, {"C0699744", "C0029882"}, set()),
}
CHRONIC = list(TRUTH)[:12]


def build_region(home: Path, residents: int, seed: int):
    region = home / "region"
    generate_region(region, residents, seed)
    ws = init_workspace(home / "ws")
    for folder in sorted(p for p in region.iterdir() if p.is_dir() and p.name != "truth"):
        ingest_path(ws, folder, folder.name)
    build_all(ws)
    MasterPatientIndex(ws).run()
    return ws


def records(ws) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Person -> conditions with any record; person -> conditions with an active diagnosis."""
    by_code = {
        code: name
        for name, (concepts, _, _) in TRUTH.items()
        for concept in (concepts if isinstance(concepts, tuple) else (concepts,))
        for code, _ in concept.codes.values()
    }
    any_record: dict[str, set[str]] = defaultdict(set)
    active: dict[str, set[str]] = defaultdict(set)
    rows = ws.sql(
        "SELECT l.person_id, c.code, c.icd10_code, c.snomed_code, c.clinical_status, c.verification_status "
        "FROM warehouse.condition c JOIN warehouse.person_link l ON c.patient_id = l.patient_id"
    ).to_pylist()
    for row in rows:
        for code in (row["code"], row["icd10_code"], row["snomed_code"]):
            name = by_code.get(code)
            if name is None:
                continue
            any_record[row["person_id"]].add(name)
            if (row["clinical_status"] or "active") in ("active", "recurrence", "relapse") and (
                row["verification_status"] or ""
            ) not in ("refuted", "entered-in-error"):
                active[row["person_id"]].add(name)
    return any_record, active


def about(article: dict) -> set[str]:
    cuis = set(article["cuis"] or ())
    focus = (article["focus"] or "").casefold()
    return {n for n, (_, ids, foci) in TRUTH.items() if cuis & ids or (not cuis and focus in foci)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--limit", type=int, default=5, help="articles per resident")
    parser.add_argument("--home", type=Path, help="build the region here and reuse it on the next run")
    parser.add_argument("--show", action="store_true", help="print each recommendation judged off-topic")
    args = parser.parse_args()
    if not ARTICLES.is_file():
        sys.exit(f"the MedQuAD articles are not at {ARTICLES}")
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        home = args.home or Path(scratch)
        if (home / "ws").is_dir():
            ws = open_workspace(home / "ws")
        else:
            ws = build_region(home, args.residents, args.seed)
            load_articles(ws, ARTICLES)
            build_graph(ws, ontologies=("icd10", "hpo", "articles"))
        prepared = time.perf_counter() - started
        started = time.perf_counter()
        everyone = Recommender(ws).recommend_all(limit=args.limit)
        recommended = time.perf_counter() - started
        articles = {r["id"]: r for r in tables.read(ws, tables.ARTICLE_TABLE).to_pylist()}
        any_record, active = records(ws)
        persons = (
            ws.sql("SELECT count(DISTINCT person_id) AS n FROM warehouse.person_link").column("n")[0].as_py()
        )

        print(
            f"{args.residents} residents synthesised (seed {args.seed}), {persons} persons linked; "
            f"region, articles and graph ready in {prepared:.0f} s; recommendations for everyone in "
            f"{recommended:.1f} s; {sum(map(len, everyone.values()))} recommendations to "
            f"{sum(1 for c in everyone.values() if c)} persons, at most {args.limit} each\n"
        )
        print(
            "| chronic condition | residents with an active diagnosis | with ≥ 1 article about it | share |"
        )
        print("|---|---:|---:|---:|")
        for name in CHRONIC:
            having = [p for p, names in active.items() if name in names]
            served = [
                p for p in having if any(name in about(articles[r.article_id]) for r in everyone.get(p, []))
            ]
            share = f"{100 * len(served) / len(having):.1f}%" if having else "—"
            print(f"| {name} | {len(having)} | {len(served)} | {share} |")

        kinds: Counter[str] = Counter()
        off: Counter[str] = Counter()
        warned: Counter[str] = Counter()
        unjudged = 0
        for person, chosen in everyone.items():
            for rec in chosen:
                kinds[rec.cites["kind"]] += 1
                topics = about(articles[rec.article_id])
                if not topics:
                    unjudged += 1
                elif not topics & any_record[person]:
                    off[rec.cites["kind"]] += 1
                    if rec.cites["kind"] == "result":
                        warned[rec.topic] += 1
                    if args.show:
                        print(f"off: {person} has {sorted(any_record[person])}; {rec.topic!r} {rec.reason}")
        total = sum(kinds.values())
        print(f"\nrecommendations by what pointed to them: {dict(kinds)}")
        print(
            f"about a condition the resident has no record of: {sum(off.values())} of {total} "
            f"({100 * sum(off.values()) / max(total, 1):.2f}%): from a diagnosis or prescription "
            f"{off['condition'] + off['medication']}, from an abnormal result (a warning) {off['result']}, "
            f"from a risk {off['risk']}"
        )
        print(f"  warnings by topic: {dict(warned.most_common())}")
        print(f"articles about none of the region's conditions (not judged): {unjudged}")


if __name__ == "__main__":
    main()
