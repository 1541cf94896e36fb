"""HTML fragments to plain text with one paragraph per block element, blank lines between."""

from __future__ import annotations

import lxml.html
from lxml.html import HtmlElement

_BLOCKS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "tr", "dd", "dt",
           "figcaption", "section", "article", "td", "th", "table", "ul", "ol", "dl", "header", "footer",
           "main", "aside", "nav", "form", "br", "hr", "caption", "address", "details", "summary"}
_SKIP = {"script", "style", "noscript", "template", "svg", "button", "iframe", "object", "select"}


def normalise_paragraphs(text: str) -> str:
    """Collapse whitespace inside lines; one paragraph per non-empty line, blank lines between."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n\n".join(line for line in lines if line)


def element_to_text(root: HtmlElement) -> str:
    """Text of `root`, a line break at every block boundary, table cells joined by spaces."""
    parts: list[str] = []
    stack: list[tuple[HtmlElement, bool]] = [(root, False)]
    while stack:  # iterative: no recursion on deep trees
        node, closing = stack.pop()
        if closing:
            if isinstance(node.tag, str) and node.tag in _BLOCKS and node.tag not in ("td", "th"):
                parts.append("\n")
            if node.tail:
                parts.append(node.tail)
            continue
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in _SKIP or not tag:
            if node.tail:
                parts.append(node.tail)
            continue
        if tag in _BLOCKS and tag not in ("td", "th"):
            parts.append("\n")
        elif tag in ("td", "th"):
            parts.append(" ")
        if node.text:
            parts.append(node.text)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(list(node)))
    return normalise_paragraphs("".join(parts))


def html_fragment_to_text(fragment: str) -> str:
    """Text of an HTML fragment (see element_to_text); '' for an empty fragment."""
    if not fragment.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError, AssertionError):
        # AssertionError: lxml asserts one <body> and a fragment of only <head> has none.
        return ""
    return element_to_text(root)
