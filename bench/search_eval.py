"""Search quality on real consumer questions: nDCG@10, plain BM25 beside medlake with and without expansion.

Material (read from ``../shared/reference/medquad/``, never copied): 17,889 MedQuAD articles,
51 TREC 2017 LiveQA medical questions and the NLM assessors' judgements of MedQuAD answers.
Each question is searched as the person wrote it (``subject`` + ``message``) and, second,
as the librarian's ``summary``.

* **plain BM25**: one tantivy field holding question + answer, split and lower-cased, English
  stop words (Snowball's list) dropped, no stemming, every query word an equal "should" term
  (the baseline the material's README quotes at about 0.34); also without stop words;
* **medlake, no expansion**: ``medlake search --no-expand`` (fields, stop words, stemming,
  spelling);
* **medlake, expansion**: ``medlake search`` with the graph built from ICD-10, HPO and the
  articles' own concepts (no Wikipedia dump is available offline).

``--grid`` prints the grid the expansion weights and the fields were chosen from, on each half of
the questions (qid mod 4 = 1 and = 3), and exits.

    PYTHONPATH=src .venv/bin/python bench/search_eval.py [--home DIR] [--per-question] [--grid]

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

from medlake.knowledge.analysis import STOP_WORDS
from medlake.knowledge.build import build_graph
from medlake.knowledge.evaluate import ndcg, read_qrels
from medlake.knowledge.expansion import Weights
from medlake.knowledge.search import ArticleSearch
from medlake.knowledge.store import load_articles
from medlake.workspace import init_workspace

SHARED = Path(os.environ.get("MEDLAKE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
MEDQUAD = SHARED / "reference" / "medquad"


class PlainBM25:
    """The baseline: tantivy's BM25 over question + answer as one field, nothing else."""

    def __init__(self, articles: Path, stop_words: bool = True) -> None:
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        builder.add_text_field("body", tokenizer_name="plain")
        self.schema = builder.build()
        analyzer = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        analyzer = analyzer.filter(tantivy.Filter.remove_long(40)).filter(tantivy.Filter.lowercase())
        if stop_words:
            analyzer = analyzer.filter(tantivy.Filter.custom_stopword(list(STOP_WORDS)))
        self.analyzer = analyzer.build()
        self.index = tantivy.Index(self.schema)
        self.index.register_tokenizer("plain", self.analyzer)
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


FORMS = {
    "subject + message": lambda q: f"{q['subject'] or ''} {q['message'] or ''}",
    "summary": lambda q: q["summary"] or "",
}

FIELD_GRID = (
    {"text": 1.0},
    {"title": 1.0, "text": 1.0},
    {"focus": 1.0, "title": 1.0, "text": 1.0},
    {"focus": 2.0, "title": 1.0, "text": 1.0},
    {"focus": 0.5, "title": 0.5, "text": 1.0},
)
WEIGHT_GRID = [
    *(
        Weights(synonym=s, narrower=n, related=r, covered=c, preferred=0.0)
        for c in (0.001, 0.002, 0.005, 0.01, 0.05, 1.0)
        for s, n, r in ((0.5, 0.3, 0.2), (0.3, 0.1, 0.1), (0.5, 0.0, 0.0))
    ),
    *(Weights(preferred=p) for p in (0.0, 0.5, 0.8, 1.0)),
]
#: the issue's example: none of the articles says "mini stroke"
EXAMPLE = "my dad had a mini stroke what now"


def grid(workspace, questions: list[dict], judged: dict) -> None:
    """nDCG@10 by half of the questions for each field weighting (no expansion), then each expansion
    weighting (with the chosen fields): the choice is the best that is nowhere below no expansion."""
    halves = {"A": lambda q: int(q["qid"]) % 4 == 1, "B": lambda q: int(q["qid"]) % 4 == 3}

    def line(label: str, search: ArticleSearch, expand: bool) -> None:
        cells = []
        for form, text_of in FORMS.items():
            values = {
                q["qid"]: ndcg([h.id for h in search.search(text_of(q), expand)], judged.get(q["qid"], {}))
                for q in questions
            }
            parts = [f"all {statistics.mean(values.values()):.4f}"]
            for half, member in halves.items():
                part = statistics.mean(values[q["qid"]] for q in questions if member(q))
                parts.append(f"{half} {part:.4f}")
            cells.append(f"{form}: " + " ".join(parts))
        print(f"{label:55s} | " + " | ".join(cells), flush=True)

    for fields in FIELD_GRID:
        line(f"fields {fields}, no expansion", ArticleSearch(workspace, fields=fields), False)
    for weights in WEIGHT_GRID:
        label = (
            f"synonym {weights.synonym} narrower {weights.narrower} related {weights.related} "
            f"covered {weights.covered} preferred {weights.preferred}"
        )
        search = ArticleSearch(workspace, weights=weights)
        line(label, search, True)
        print(f"{'':55s} | {EXAMPLE!r}: {example_rank(search, True)}")


def example_rank(search: ArticleSearch, expand: bool) -> str:
    """Where the first transient ischemic attack article ranks for :data:`EXAMPLE`."""
    hits = search.search(EXAMPLE, expand, limit=50)
    rank = next((i for i, h in enumerate(hits, 1) if "transient ischemic attack" in h.title.lower()), None)
    return f"first TIA article at rank {rank}" if rank else "no TIA article in the first 50"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, help="workspace to use (default: a temporary one)")
    parser.add_argument("--per-question", action="store_true", help="print every question's nDCG@10")
    parser.add_argument("--grid", action="store_true", help="print the tuning grid by half and exit")
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
        _ = search.graph  # loaded once, before any query is timed
        if args.grid:
            grid(workspace, questions, judged)
            return
        plain = PlainBM25(articles)
        unstopped = PlainBM25(articles, stop_words=False)
        print(
            f"articles {load.articles} loaded in {loaded:.1f} s; graph {built.concepts} concepts, "
            f"{built.edges} edges in {graphed:.1f} s"
        )

        runs = {
            "plain BM25": lambda q: plain.search(q),
            "plain BM25, no stop words": lambda q: unstopped.search(q),
            "medlake, no expansion": lambda q: [h.id for h in search.search(q, expand_query=False)],
            "medlake, expansion": lambda q: [h.id for h in search.search(q, expand_query=True)],
        }
        for form, text_of in FORMS.items():
            scores: dict[str, list[float]] = {}
            timings: dict[str, float] = {}
            for name, run in runs.items():
                started = time.perf_counter()
                scores[name] = [ndcg(run(text_of(q)), judged.get(q["qid"], {})) for q in questions]
                timings[name] = (time.perf_counter() - started) / len(questions) * 1000
            base = statistics.mean(scores["plain BM25"])
            print(f"\n{form} ({len(questions)} questions)")
            print("| run | nDCG@10 | vs plain BM25 | ms/query |")
            print("|---|---:|---:|---:|")
            for name, values in scores.items():
                mean = statistics.mean(values)
                print(f"| {name} | {mean:.4f} | {100 * (mean / base - 1):+.1f}% | {timings[name]:.1f} |")
            with_, without = scores["medlake, expansion"], scores["medlake, no expansion"]
            better = sum(a > b + 1e-9 for a, b in zip(with_, without, strict=True))
            worse = sum(a < b - 1e-9 for a, b in zip(with_, without, strict=True))
            same = len(questions) - better - worse
            print(f"expansion: better on {better} questions, worse on {worse}, same on {same}")
        for expand in (False, True):
            print(f"{EXAMPLE!r}, expansion {'on' if expand else 'off'}: {example_rank(search, expand)}")
            if args.per_question:
                for q, *values in zip(questions, *scores.values(), strict=True):
                    print(q["qid"], " ".join(f"{v:.3f}" for v in values), (q["subject"] or "")[:50])


if __name__ == "__main__":
    main()
