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
from collections.abc import Callable, Iterable, Sequence

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


def _agrees(normalised: list[str], other: str) -> bool:
    """True when `other` (normalised, space-padded) holds AGREEMENT of the long lines' words."""
    long_words = agreed = 0
    for norm in normalised:
        count = _size(norm)
        if count >= SHORT_LINE_WORDS:
            long_words += count
            agreed += count if f" {norm} " in other else 0
    return bool(long_words) and agreed / long_words >= AGREEMENT


def vote_short_lines(lines: list[str], second_opinion: str) -> list[str]:
    """Drop short lines the second extractor left out, when it agrees on the article itself."""
    voted = _vote(lines, [_norm(line) for line in lines], second_opinion)
    return lines if voted is None else voted


def _vote(lines: list[str], normalised: list[str], second_opinion: str) -> list[str] | None:
    """The lines after the vote, or None when `second_opinion` found another article (no say)."""
    other = f" {_norm(second_opinion)} "
    if other.strip() == "" or not _agrees(normalised, other):
        return None
    kept = [
        line
        for line, norm in zip(lines, normalised, strict=True)
        if norm and (_size(norm) >= SHORT_LINE_WORDS or f" {norm} " in other)
    ]
    return kept or lines


Opinion = Callable[[], str]


def refine(text: str, *, titles: Iterable[str | None], second_opinion: Opinion | Sequence[Opinion]) -> str:
    """trafilatura's blank-line paragraphs after both rules, in the same form.

    `second_opinion` is called only when there is a short line to vote on: a page of long
    paragraphs never pays for the second extractor. Given several, they are asked in order
    and the first that agrees on the article votes (a cheap one first, a costly one only when
    the cheap one found something else).
    """
    lines = [line for line in text.split("\n\n") if line.strip()]
    lines = drop_title_lines(lines, titles)
    normalised = [_norm(line) for line in lines]
    if any(_size(norm) < SHORT_LINE_WORDS for norm in normalised):
        opinions = [second_opinion] if callable(second_opinion) else second_opinion
        for opinion in opinions:
            voted = _vote(lines, normalised, opinion())
            if voted is not None:
                lines = voted
                break
    return "\n\n".join(lines)
