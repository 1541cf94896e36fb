"""HTML fragments to plain text with one paragraph per block element, blank lines between."""

from __future__ import annotations

import re
import threading

import lxml.etree
from lxml.etree import _Element

# fmt: off
_BLOCKS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "tr", "dd", "dt",
           "figcaption", "section", "article", "td", "th", "table", "ul", "ol", "dl", "header", "footer",
           "main", "aside", "nav", "form", "br", "hr", "caption", "address", "details", "summary"}
# fmt: on
_SKIP = {"script", "style", "noscript", "template", "svg", "button", "iframe", "object", "select"}
_LINE_BREAKS = _BLOCKS - {"td", "th"}
# Plain etree parsers: lxml.html's builds an HtmlElement proxy for every node, and its
# fragment_fromstring wraps, checks and re-parents in Python; this is the same libxml2 parse
# at a third of the cost (~5 vs ~13 us for a feed item's two paragraphs). One per thread: a
# shared lxml parser serialises its users on a lock.
_parsers = threading.local()
_FULL_DOCUMENT = re.compile(r"^\s*<(?:html|!doctype)", re.I).match


def normalise_paragraphs(text: str) -> str:
    """Collapse whitespace inside lines; one paragraph per non-empty line, blank lines between."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n\n".join(line for line in lines if line)


def element_to_text(root: _Element) -> str:
    """Text of `root`, a line break at every block boundary, table cells joined by spaces."""
    parts: list[str] = []
    append = parts.append
    stack: list[tuple[_Element, bool]] = [(root, False)]
    pop = stack.pop
    while stack:  # iterative: no recursion on deep trees
        node, closing = pop()
        tag = node.tag
        if closing:
            if tag in _LINE_BREAKS:
                append("\n")
            if node.tail:
                append(node.tail)
            continue
        if not isinstance(tag, str) or tag in _SKIP:  # comments, processing instructions
            if node.tail:
                append(node.tail)
            continue
        if tag in _LINE_BREAKS:
            append("\n")
        elif tag in ("td", "th"):
            append(" ")
        if node.text:
            append(node.text)
        stack.append((node, True))
        if len(node):
            stack.extend([(child, False) for child in reversed(node)])
    return normalise_paragraphs("".join(parts))


def html_fragment_to_text(fragment: str) -> str:
    """Text of an HTML fragment (see element_to_text); '' for an empty fragment. The fragment
    is parsed as the body of a document, as lxml.html.fragment_fromstring does."""
    if not fragment.strip():
        return ""
    markup = fragment if _FULL_DOCUMENT(fragment) else f"<html><body>{fragment}</body></html>"
    parser = getattr(_parsers, "html", None)
    if parser is None:
        parser = _parsers.html = lxml.etree.HTMLParser()
    try:
        root = lxml.etree.fromstring(markup, parser)
    except (lxml.etree.LxmlError, ValueError):
        return ""
    body = root.find("body") if root is not None else None
    # None: nothing parsed, or a fragment of only <head> (no body to take text from)
    return "" if body is None else element_to_text(body)
