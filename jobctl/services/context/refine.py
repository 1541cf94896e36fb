"""Line-level clean-up of trafilatura's text, using readability-lxml as a second opinion.

Two rules, both measured on our own corpus (`python -m benchmarks.extraction_quality`):
- the headline is stored as the item's title, so a line near the top that repeats it is dropped
  (trafilatura often keeps the <h1> when it sits inside the article container);
- boilerplate that survives trafilatura is nearly always a short line inside the article container
  ("Subscribe to ...", "Where to buy", "Jump to Recipe", vote counts, "3 Answers"). Long lines are
  almost never boilerplate, so only short lines are put to a vote: when readability found the same
  article (it contains most of trafilatura's long lines), a short line readability left out is
  dropped. When readability found something else, it has no say and the text is kept as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

SHORT_LINE_WORDS = 10
"""Lines with fewer words than this are the ones put to the vote (a heading, a list item, a CTA)."""
AGREEMENT = 0.6
"""Share of trafilatura's long-line words readability must contain to count as the same article."""
TITLE_LINES = 3
"""Only the first few lines may be dropped as a repeated headline."""

_WORD = re.compile(r"\w+")
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def _norm(text: str) -> str:
    """Lowercased words joined by single spaces: punctuation and spacing differences vanish."""
    return " ".join(_WORD.findall(text.lower()))


def _size(norm: str) -> int:
    """Words of a normalised line; CJK text has no spaces, so two characters count as a word."""
    if not norm:
        return 0
    return norm.count(" ") + 1 + len(_CJK.findall(norm)) // 2


def word_count(line: str) -> int:
    """Words of a line as the rules here count them (CJK: two characters a word)."""
    return _size(_norm(line))


def drop_title_lines(lines: list[str], titles: Iterable[str | None]) -> list[str]:
    """`lines` without a headline repeated among its first TITLE_LINES lines."""
    wanted = {_norm(t) for t in titles if t} - {""}
    if not wanted:
        return lines
    kept = [line for i, line in enumerate(lines) if i >= TITLE_LINES or _norm(line) not in wanted]
    return kept or lines


def vote_short_lines(lines: list[str], second_opinion: str) -> list[str]:
    """Drop short lines the second extractor left out, when it agrees on the article itself."""
    other = f" {_norm(second_opinion)} "
    if other.strip() == "":
        return lines
    normalised = [_norm(line) for line in lines]
    long_words = agreed = 0
    for norm in normalised:
        count = _size(norm)
        if count >= SHORT_LINE_WORDS:
            long_words += count
            agreed += count if f" {norm} " in other else 0
    if not long_words or agreed / long_words < AGREEMENT:
        return lines
    kept = [
        line
        for line, norm in zip(lines, normalised, strict=True)
        if norm and (_size(norm) >= SHORT_LINE_WORDS or f" {norm} " in other)
    ]
    return kept or lines


def refine(text: str, *, titles: Iterable[str | None], second_opinion: Callable[[], str]) -> str:
    """trafilatura's blank-line paragraphs after both rules, in the same form.

    `second_opinion` is called only when there is a short line to vote on: a page of long
    paragraphs never pays for the second extractor.
    """
    lines = [line for line in text.split("\n\n") if line.strip()]
    lines = drop_title_lines(lines, titles)
    if any(_size(_norm(line)) < SHORT_LINE_WORDS for line in lines):
        lines = vote_short_lines(lines, second_opinion())
    return "\n\n".join(lines)
