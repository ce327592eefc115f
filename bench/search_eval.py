"""Search quality on real consumer questions: nDCG@10, plain BM25 beside medlake with and without expansion.

Material (read from ``../shared/reference/medquad/``, never copied): 17,889 MedQuAD articles,
51 TREC 2017 LiveQA medical questions and the NLM assessors' judgements of MedQuAD answers.
Each question is searched as the person wrote it (``subject`` + ``message``) and, second,
as the librarian's ``summary``.

* **plain BM25**: one tantivy field holding question + answer, tantivy's default analyzer
  (split, lower-case; no stemming, no stop words), every query word an equal "should" term;
* **medlake, no expansion**: ``medlake search --no-expand`` (fields, stop words, stemming,
  spelling);
* **medlake, expansion**: ``medlake search`` with the graph built from ICD-10, HPO and the
  articles' own concepts (no Wikipedia dump is available offline).

    PYTHONPATH=src .venv/bin/python bench/search_eval.py [--home DIR] [--per-question]

(``MEDLAKE_SHARED`` points at the shared folder when the project is not beside it.)
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import tantivy

from medlake.knowledge.build import build_graph
from medlake.knowledge.evaluate import ndcg, read_qrels
from medlake.knowledge.search import ArticleSearch
from medlake.knowledge.store import load_articles
from medlake.workspace import init_workspace

SHARED = Path(os.environ.get("MEDLAKE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
MEDQUAD = SHARED / "reference" / "medquad"


class PlainBM25:
    """The baseline: tantivy's BM25 over question + answer as one field, nothing else."""

    def __init__(self, articles: Path) -> None:
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        builder.add_text_field("body", tokenizer_name="default")
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema)
        writer = self.index.writer(heap_size=128_000_000, num_threads=1)
        with gzip.open(articles, "rt") as lines:
            for line in lines:
                row = json.loads(line)
                writer.add_document(tantivy.Document(id=row["id"], body=f"{row['question']} {row['answer']}"))
        writer.commit()
        self.index.reload()
        self.analyzer = (
            tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase())
            .build()
        )

    def search(self, text: str, limit: int = 10) -> list[str]:
        words = dict.fromkeys(self.analyzer.analyze(text))
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "body", w)) for w in words]
        )
        searcher = self.index.searcher()
        return [searcher.doc(a)["id"][0] for _, a in searcher.search(query, limit=limit).hits]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, help="workspace to use (default: a temporary one)")
    parser.add_argument("--per-question", action="store_true", help="print every question's nDCG@10")
    args = parser.parse_args()
    if not MEDQUAD.is_dir():
        sys.exit(f"the MedQuAD material is not at {MEDQUAD}")
    articles = MEDQUAD / "medquad.jsonl.gz"
    questions = [json.loads(line) for line in (MEDQUAD / "liveqa-public-questions.jsonl").open()]
    judged = read_qrels((MEDQUAD / "liveqa-public-qrels.txt").read_text().splitlines())

    with tempfile.TemporaryDirectory() as scratch:
        home = args.home or Path(scratch) / "ws"
        workspace = init_workspace(home)
        started = time.perf_counter()
        load = load_articles(workspace, articles)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        _, built = build_graph(workspace, ontologies=("icd10", "hpo", "articles"))
        graphed = time.perf_counter() - started
        search = ArticleSearch(workspace)
        plain = PlainBM25(articles)
        print(
            f"articles {load.articles} loaded in {loaded:.1f} s; graph {built.concepts} concepts, "
            f"{built.edges} edges in {graphed:.1f} s"
        )

        runs = {
            "plain BM25": lambda q: plain.search(q),
            "medlake, no expansion": lambda q: [h.id for h in search.search(q, expand_query=False)],
            "medlake, expansion": lambda q: [h.id for h in search.search(q, expand_query=True)],
        }
        for form, text_of in (
            ("subject + message", lambda q: f"{q['subject'] or ''} {q['message'] or ''}"),
            ("summary", lambda q: q["summary"] or ""),
        ):
            scores: dict[str, list[float]] = {}
            timings: dict[str, float] = {}
            for name, run in runs.items():
                started = time.perf_counter()
                scores[name] = [ndcg(run(text_of(q)), judged.get(q["qid"], {})) for q in questions]
                timings[name] = (time.perf_counter() - started) / len(questions) * 1000
            base = statistics.mean(scores["plain BM25"])
            print(f"\n{form} ({len(questions)} questions)")
            print(f"| run | nDCG@10 | vs plain BM25 | ms/query |")
            print("|---|---:|---:|---:|")
            for name, values in scores.items():
                mean = statistics.mean(values)
                print(f"| {name} | {mean:.4f} | {100 * (mean / base - 1):+.1f}% | {timings[name]:.1f} |")
            with_, without = scores["medlake, expansion"], scores["medlake, no expansion"]
            better = sum(a > b + 1e-9 for a, b in zip(with_, without, strict=True))
            worse = sum(a < b - 1e-9 for a, b in zip(with_, without, strict=True))
            print(
                f"expansion: better on {better} questions, worse on {worse}, same on {len(questions) - better - worse}"
            )
            if args.per_question:
                for q, *values in zip(questions, *scores.values(), strict=True):
                    print(q["qid"], " ".join(f"{v:.3f}" for v in values), (q["subject"] or "")[:50])


if __name__ == "__main__":
    main()
