"""Relevance of an organisation's context items (and their sentences) to a topic: BM25 via bm25s.

bm25s (sparse-matrix BM25, maintained, numpy only) over our own tokens: lower-cased words of
two or more letters or digits, English stop words removed. One tokenizer for documents, queries
and key terms keeps the three consistent. Items that share no term with the topic score 0; when
none scores above 0 the newest items stand in (the topic may use words the sources do not), and
the ranking says so (`matched` false) so the result can report it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from jobctl.domain.context import ItemRecord

_WORD = re.compile(r"(?u)\b\w\w+\b")
# bm25s's English list plus the words that make useless hashtags.
_STOP_WORDS = """a an and are as at be but by for if in into is it no not of on or such that the their then
    there these they this to was will with we you your our us its it's from has have had been were
    which who whom what when where why how all any both each few more most other some than too very
    can just also about after before over under again new one two many much may might must should
    would could said says say get got make made use used using like via per every"""
_STOP = frozenset(_STOP_WORDS.split())


def tokenize(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and not w.isdigit()]


@dataclass(frozen=True)
class Ranked:
    item: ItemRecord
    score: float


@dataclass(frozen=True)
class Ranking:
    items: tuple[Ranked, ...]
    matched: bool  # False: nothing shared a term with the topic; these are the newest items


def _bm25_scores(corpus: Sequence[list[str]], query: list[str]) -> list[float]:
    import bm25s  # numpy: imported when a job ranks, not when the CLI starts

    if not query or not any(corpus):
        return [0.0] * len(corpus)
    retriever = bm25s.BM25()
    # An empty document would trip bm25s; a token that no query can contain stands in for it.
    retriever.index([doc or ["\x00"] for doc in corpus], show_progress=False)
    return [float(s) for s in retriever.get_scores(query)]


def rank_items(topic: str, items: Sequence[ItemRecord], limit: int = 5) -> Ranking:
    """The `limit` items most relevant to `topic` (BM25 over title and text), best first.
    `items` are newest first; ties keep that order."""
    if not items:
        return Ranking((), False)
    corpus = [tokenize(f"{i.title or ''} {i.text}") for i in items]
    scores = _bm25_scores(corpus, tokenize(topic))
    order = sorted(range(len(items)), key=lambda k: -scores[k])  # stable: newest first on ties
    hits = [Ranked(items[k], scores[k]) for k in order if scores[k] > 0][:limit]
    if hits:
        return Ranking(tuple(hits), True)
    return Ranking(tuple(Ranked(i, 0.0) for i in items[:limit]), False)


def rank_sentences(topic: str, sentences: Sequence[str]) -> list[float]:
    """BM25 score of each sentence against the topic (the sentences are the corpus)."""
    return _bm25_scores([tokenize(s) for s in sentences], tokenize(topic))


def key_terms(topic: str, texts: Sequence[str], limit: int = 12) -> list[str]:
    """Terms for hashtags: the topic's own words first, then the texts' most frequent terms
    (letters only, 3+ characters: '#2026' or '#Ok' help nobody)."""
    seen: dict[str, None] = {}
    for word in tokenize(topic):
        if len(word) >= 3 and word.isalpha():
            seen.setdefault(word, None)
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w for w in tokenize(text) if len(w) >= 4 and w.isalpha())
    for word, _n in counts.most_common():
        if len(seen) >= limit:
            break
        seen.setdefault(word, None)
    return list(seen)[:limit]
