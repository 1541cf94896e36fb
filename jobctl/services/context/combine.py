"""Per-page choice between extractors: trafilatura first, readability-lxml as the second opinion.

Version 1: trafilatura's default pipeline; readability-lxml when trafilatura finds nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import trafilatura
from readability import Document as ReadabilityDocument

from jobctl.services.context.textify import html_fragment_to_text, normalise_paragraphs

for _name in ("trafilatura", "readability", "readability.readability", "htmldate", "justext"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@dataclass(frozen=True)
class Chosen:
    """The kept text and what trafilatura said about the page's metadata."""

    text: str
    extractor: str
    title: str | None = None
    author: str | None = None
    date: str | None = None


def run_trafilatura(
    markup: str, *, url: str, favor_precision: bool = False, favor_recall: bool = False
) -> tuple[str, dict[str, str | None]]:
    """trafilatura's text (blank-line paragraphs) and metadata; ('', {}) when it finds nothing."""
    doc = trafilatura.bare_extraction(
        markup, url=url, with_metadata=True, include_comments=False, include_tables=True,
        favor_precision=favor_precision, favor_recall=favor_recall,
    )
    if doc is None:
        return "", {}
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = normalise_paragraphs(str(data.get("text") or ""))
    meta = {k: (str(data[k]) if data.get(k) else None) for k in ("title", "author", "date")}
    return text, meta


def run_readability(markup: str, *, url: str) -> str:
    """readability-lxml's main content as text; '' when it finds nothing."""
    try:
        summary = ReadabilityDocument(markup, url=url).summary(html_partial=True)
    except Exception:  # readability raises bare Unparseable/ValueError on odd markup
        return ""
    return html_fragment_to_text(summary)


def choose_text(markup: str, *, url: str) -> Chosen | None:
    """The main text of the page, or None when no extractor finds any."""
    text, meta = run_trafilatura(markup, url=url)
    if text:
        return Chosen(text, "trafilatura", meta.get("title"), meta.get("author"), meta.get("date"))
    fallback = run_readability(markup, url=url)
    if fallback:
        return Chosen(fallback, "readability", meta.get("title"), meta.get("author"), meta.get("date"))
    return None
