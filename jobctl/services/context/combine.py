"""Per-page combination of extractors: trafilatura for the text, readability as second opinion.

Version 2, chosen on our own corpus (tests/fixtures/articles, `python -m benchmarks.extraction_quality`):
1. trafilatura with comments off (its default keeps comment threads: the largest loss we measured)
   and tables on, with its own internal fallbacks (``fast=False``);
2. a readability second opinion, used by `refine` to vote out short boilerplate lines: first
   trafilatura's lean fork of readability (~4 ms a news page), then readability-lxml (~20 ms)
   only when the fork found another article (a forum thread: it keeps one post); readability-lxml
   is also the text when trafilatura finds nothing. Choosing so kept every page's F1 on the
   corpus (mean 0.989) and runs readability-lxml on none of the context-scrape benchmark's pages;
   the fork alone lost 0.03 on forum_qa;
2b. when trafilatura kept almost no prose, `rescue` takes readability's text or the densest block
   instead (an article in an <aside> or under an id with "comments" in it);
3. the JSON-LD ``articleBody`` when it is more than twice as long as what the extractors found (an
   app shell whose visible page is empty, or an extraction that missed most of the article).
favor_precision, favor_recall, deduplicate and a paragraph-level majority vote were measured and
not kept: none beat this on mean F1, and recall mode / precision mode each failed badly on some pages.
Every extractor gets the tree extract.py parsed and prepared (trafilatura copies it, the
readabilities get a copy): no markup is serialised and parsed again.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import lxml.html
import trafilatura
from lxml.html import HtmlElement
from readability import Document as ReadabilityDocument
from trafilatura.readability_lxml import Document as ReadabilityFork
from trafilatura.settings import set_date_params

from jobctl.services.context.metadata import fallback_metadata
from jobctl.services.context.refine import refine
from jobctl.services.context.rescue import (
    DENSITY_BELOW_WORDS,
    MAX_DENSITY_CHARS,
    RESCUE_BELOW_WORDS,
    densest_block_text,
    rescue,
)
from jobctl.services.context.textify import html_fragment_to_text, normalise_paragraphs

for _name in ("trafilatura", "readability", "readability.readability", "htmldate", "justext"):
    logging.getLogger(_name).setLevel(logging.ERROR)

SECOND_OPINION_MAX_CHARS = 1_000_000
"""Markup longer than this gets no readability pass: trafilatura alone already takes seconds there,
and a hostile page (hundreds of thousands of paragraphs) must not cost twice as much."""
ARTICLE_BODY_RATIO = 2.0
"""JSON-LD articleBody replaces the extracted text when it has this many times more words."""


@dataclass(frozen=True)
class Chosen:
    """The kept text and what trafilatura said about the page's metadata."""

    text: str
    extractor: str
    title: str | None = None
    author: str | None = None
    date: str | None = None


def run_trafilatura(
    page: HtmlElement | str,
    *,
    url: str,
    favor_precision: bool = False,
    favor_recall: bool = False,
    with_metadata: bool = True,
) -> tuple[str, dict[str, str | None]]:
    """trafilatura's text (blank-line paragraphs) and metadata; ('', {}) when it finds nothing.

    `page` may be our parsed tree: trafilatura then copies it (it prunes its input) instead of
    parsing the markup again.
    """
    doc = trafilatura.bare_extraction(
        page,
        url=url,
        with_metadata=with_metadata,
        include_comments=False,
        include_tables=True,
        favor_precision=favor_precision,
        favor_recall=favor_recall,
        # No "extensive" date search: it hands free text to dateparser, which loads each language's
        # data on first use (7 s for one Russian forum page here) and mostly guesses wrong dates.
        date_extraction_params=set_date_params(extensive=False),
    )
    if doc is None:
        return "", {}
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = normalise_paragraphs(str(data.get("text") or ""))
    meta = {k: (str(data[k]) if data.get(k) else None) for k in ("title", "author", "date")}
    return text, meta


def run_readability(tree: HtmlElement) -> str:
    """readability-lxml's main content of our parsed page as text; '' when it finds nothing.

    Given the tree, readability skips its own parse (and its cleaner deep-copies before it
    edits), but it drops hidden elements in place first, hence the copy (0.4 ms on a 54 KB page).
    No url is passed on purpose: with one, readability rewrites every link of the page absolute
    (40% of its time here) and we keep only the text.
    """
    try:
        summary = ReadabilityDocument(copy.deepcopy(tree)).summary(html_partial=True)
    except Exception:  # readability raises bare Unparseable/ValueError on odd markup
        return ""
    return html_fragment_to_text(summary)


def run_readability_fork(tree: HtmlElement) -> str:
    """trafilatura's fork of readability on a copy of our page as text; '' when it finds nothing.

    A leaner port (no lxml Cleaner pass, no link rewriting, no debug descriptions): ~4 ms on a
    54 KB news page where readability-lxml takes ~20 ms. It edits its input, hence the copy.
    """
    try:
        summary = ReadabilityFork(copy.deepcopy(tree), min_text_length=25).summary()
    except Exception:  # the fork raises on odd markup as the original does
        return ""
    return html_fragment_to_text(summary)


def choose_text(
    page: HtmlElement | str,
    *,
    url: str,
    titles: Iterable[str | None] = (),
    article_body: str | None = None,
    with_metadata: bool = True,
    need_author: bool = True,
    need_date: bool = True,
    size: int | None = None,
) -> Chosen | None:
    """The main text of the page, or None when no extractor finds any.

    `page` is the prepared tree (extract.py), parsed once for every extractor, or markup;
    `size` is the page's length in characters (the caps below). `titles` are the page's
    headline candidates (a repeat of one at the top of the text is dropped); `article_body` is
    the JSON-LD articleBody, if the page has one; `with_metadata` False skips trafilatura's
    metadata pass (htmldate and friends) when the caller has title, author and date already.
    """
    if isinstance(page, str):
        size = len(page) if size is None else size
        page = lxml.html.document_fromstring(page)
    tree = page
    size = size if size is not None else len(lxml.html.tostring(tree))
    meta = {}
    if with_metadata:
        meta = fallback_metadata(tree, url=url, need_author=need_author, need_date=need_date)
    text, _ = run_trafilatura(tree, url=url, with_metadata=False)
    headlines = [*titles, meta.get("title")]

    memo: dict[str, str] = {}

    def opinion(name: str) -> Callable[[], str]:  # each second opinion at most once per page
        def run() -> str:
            if name not in memo:
                small = size <= SECOND_OPINION_MAX_CHARS
                runner = run_readability if name == "readability" else run_readability_fork
                memo[name] = runner(tree) if small or not text else ""
            return memo[name]

        return run

    second_opinion = opinion("readability")

    def found(kept: str, extractor: str) -> Chosen:
        return Chosen(kept, extractor, meta.get("title"), meta.get("author"), meta.get("date"))

    # The vote asks trafilatura's readability fork first (5x cheaper, and it agrees on most pages);
    # readability-lxml only when the fork found another article.
    votes = [opinion("fork"), second_opinion]
    refined = refine(text, titles=headlines, second_opinion=votes) if text else ""
    candidates = [
        ("readability", second_opinion, RESCUE_BELOW_WORDS),
        (
            "density",
            lambda: densest_block_text(tree) if size <= MAX_DENSITY_CHARS else "",
            DENSITY_BELOW_WORDS,
        ),
    ]
    rescued = rescue(refined, candidates)
    chosen: Chosen | None = None
    if rescued is not None:
        chosen = found(refine(rescued[1], titles=headlines, second_opinion=lambda: ""), rescued[0])
    elif refined:
        chosen = found(refined, "trafilatura")
    elif fallback := second_opinion():
        chosen = found(refine(fallback, titles=headlines, second_opinion=lambda: ""), "readability")
    body = normalise_paragraphs(article_body or "")
    if body and (chosen is None or len(body.split()) > ARTICLE_BODY_RATIO * len(chosen.text.split())):
        base = chosen or Chosen("", "")
        return Chosen(body, "json-ld", base.title, base.author, base.date)
    return chosen
