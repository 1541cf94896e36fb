"""The rescue of pages where trafilatura keeps almost no prose.

trafilatura discards whole subtrees whose tag or name looks like boilerplate (an <aside>, a
<footer>, an id containing "comments"); when the article sits in one, it returns a scrap, the
menu or the cookie notice. readability-lxml scores by text density and often still finds the
article, but it too penalises names ("comment", "sidebar"). The last candidate here ignores names
altogether: the element whose own <p> children hold the most non-link text.

Only a text with little prose (words in sentence-length lines) is put to the rescue, so a normal
page never pays for it; the densest block only when there is next to none. A candidate wins only
with RESCUE_RATIO times more prose.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import lxml.html

from jobctl.services.context.refine import word_count
from jobctl.services.context.textify import element_to_text

RESCUE_BELOW_WORDS = 150
"""Texts with less prose than this are compared with readability's."""
DENSITY_BELOW_WORDS = 30
"""Texts with less prose than this (next to nothing: a menu, a label) are also compared with the
densest block. Not above: after a short article that trafilatura got right, the densest block
can be a flat list of comments."""
RESCUE_RATIO = 3.0
"""A candidate replaces the text when it has this many times more prose words (and at least half
of RESCUE_BELOW_WORDS)."""
PROSE_LINE_WORDS = 10
"""A line with this many words is a sentence, not a menu item or a label."""
MAX_DENSITY_CHARS = 1_000_000
"""Markup longer than this gets no density pass (a hostile page must not cost another walk)."""


def prose_words(text: str) -> int:
    """Words in lines long enough to be sentences (a menu of 200 one-word links has none)."""
    counts = (word_count(line) for line in text.split("\n\n"))
    return sum(n for n in counts if n >= PROSE_LINE_WORDS)


def densest_block_text(tree: lxml.html.HtmlElement) -> str:
    """Text of the element whose direct <p> children carry the most non-link text; '' if none."""
    scores: dict[lxml.html.HtmlElement, int] = {}
    for para in tree.iter("p"):
        parent = para.getparent()
        if parent is None:
            continue
        text = len(para.text_content().strip())
        links = sum(len(a.text_content()) for a in para.iter("a"))
        if text and links / text < 0.5:
            scores[parent] = scores.get(parent, 0) + text - links
    if not scores:
        return ""
    best = max(scores, key=lambda node: scores[node])
    return element_to_text(best)


def rescue(text: str, candidates: Sequence[tuple[str, Callable[[], str], int]]) -> tuple[str, str] | None:
    """(name, text) of the candidate that should replace `text`, or None to keep it.

    Each candidate is (name, producer, below): it is consulted only when `text` has fewer than
    `below` prose words, so a riskier candidate can be kept for pages where nothing was found.
    """
    own = prose_words(text)
    best: tuple[int, str, str] | None = None
    for name, produce, below in candidates:
        if own >= below:
            continue
        other = produce()
        words = prose_words(other)
        if best is None or words > best[0]:
            best = (words, name, other)
    if best and best[0] >= RESCUE_BELOW_WORDS / 2 and best[0] >= RESCUE_RATIO * max(own, 1):
        return best[1], best[2]
    return None
