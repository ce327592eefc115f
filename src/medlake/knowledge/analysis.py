"""Text to index terms, one way for articles, queries and both search backends.

Chinese has no spaces between words, so runs of CJK characters are first segmented with
``jieba`` (the segmenter Chinese search stacks use: Elasticsearch's and Solr's jieba plugins); the
words are then separated by spaces. Everything then goes through one tantivy analyzer: split on
non-alphanumerics, drop tokens over 40 characters, lower-case, drop English stop words (the
Snowball project's list: consumer questions are long and chatty, "my", "what" and "had" would
otherwise each add a little score to every article), and Snowball-stem English ("strokes" →
"stroke"). Segmented Chinese words pass through unchanged.
The query side runs the same function, so the terms a query asks for are spelled as indexed.
"""

from __future__ import annotations

import logging
import re
from functools import cache

import tantivy

ANALYZER_NAME = "medlake"

#: The Snowball English stop-word list (snowballstem.org, english/stop.txt), with the fragments the
#: tokenizer leaves of its contractions ("i'm" → "i", "m").
STOP_WORDS = tuple(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she
    her hers herself it its itself they them their theirs themselves what which who whom this that
    these those am is are was were be been being have has had having do does did doing would should
    could ought cannot a an the and but if or because as until while of at by for with about against
    between into through during before after above below to from up down in out on off over under
    again further then once here there when where why how all any both each few more most other some
    such no nor not only own same so than too very s t m re ve ll d isn aren wasn weren hasn haven
    hadn doesn don didn won wouldn shan shouldn couldn mustn let""".split()  # noqa: SIM905 (a published list, kept as published)
)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df]+")


@cache
def analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.custom_stopword(list(STOP_WORDS)))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


@cache
def name_analyzer() -> tantivy.TextAnalyzer:
    """For comparing names word by word: stemmed, but no stop words ("Down syndrome" keeps "down")."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


@cache
def _jieba():  # imported and initialised on the first Chinese text only (about a second)
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def segment(text: str) -> str:
    """``text`` with every run of Chinese characters split into words by spaces."""
    if not _CJK.search(text):
        return text
    jieba = _jieba()
    return _CJK.sub(lambda m: " " + " ".join(w for w in jieba.cut(m.group(0)) if w.strip()) + " ", text)


def terms(text: str) -> list[str]:
    """The index terms of ``text``, in order (repeats kept)."""
    return analyzer().analyze(segment(text)) if text else []


def words(text: str) -> list[str]:
    """Surface words (case kept, Chinese segmented) for matching names and correcting spelling."""
    return re.findall(r"[^\W_]+", segment(text))
