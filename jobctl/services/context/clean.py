"""Markup fixes applied to the parsed page before any extractor sees it.

Each one undoes a way real pages mislead trafilatura and readability, and none depends on a site:
- layout tables (a 2000s page whose whole layout is a <table>): trafilatura keeps tables as data, so
  navigation cells and the article come out as one row "| Home About | The article... |". A table
  whose cells hold paragraphs, headings, lists, other tables or long prose (phpBB-style forums put
  each post in a cell) is layout, not data: it becomes <div>s. Data tables (short cells) stay.
- embedded social posts (Twitter/X, Instagram, TikTok, Facebook): their text sits inside the
  article body but is someone else's post, not the article.
- cookie and consent banners: a paragraph of legal prose near the top that both extractors can
  take for the article when the article itself sits in an unusual wrapper.
- <details>/<summary> (FAQ pages): trafilatura drops <summary>, which is the question; it becomes <p>.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

LAYOUT_CELL_CHARS = 200
"""A cell with this much text, or with two sentences or more, is prose (a forum post, an article)."""
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|[\u3002\uff01\uff1f]")  # CJK stops need no space
_BLOCKS = frozenset(
    "p h1 h2 h3 h4 h5 h6 ul ol blockquote pre table article section form".split()  # noqa: SIM905
)
_EMBED_CLASSES = (
    "twitter-tweet",
    "twitter-timeline",
    "instagram-media",
    "tiktok-embed",
    "fb-post",
    "fb-video",
    "reddit-embed-bq",
    "bluesky-embed",
    "mastodon-embed",
)
_TABLE_PARTS = ("thead", "tbody", "tfoot")
_CONSENT_WORDS = ("cookie", "consent", "gdpr", "didomi", "onetrust", "cookiebot", "privacy-banner")
MAX_BANNER_CHARS = 3000


def _is_layout_table(table: HtmlElement) -> bool:
    """True when the table's own cells (not those of nested tables) hold block content or prose."""
    if (table.get("role") or "").lower() in ("presentation", "none"):
        return True
    cells = table.xpath("./tr/td|./tr/th|./*/tr/td|./*/tr/th")
    # Blocks first: the walk stops at the first one (a nested table is one), so nested tables are
    # not walked once per level; the text test below then only sees cells without nested tables.
    for cell in cells:
        for child in cell.iterdescendants():
            if isinstance(child.tag, str) and child.tag in _BLOCKS:
                return True
    for cell in cells:
        text = cell.text_content()
        if len(text) >= LAYOUT_CELL_CHARS or (len(text) >= 100 and len(_SENTENCE_END.findall(text)) >= 2):
            return True
    return False


def unwrap_layout_tables(tree: HtmlElement) -> int:
    """Turn layout tables into nested <div>s (outermost first); the number converted."""
    converted = 0
    for table in list(tree.iter("table")):
        if table.tag != "table" or not _is_layout_table(table):
            continue
        for row in table.xpath("./tr|./*/tr"):
            for cell in row.xpath("./td|./th"):
                cell.tag = "div"
                for name in ("width", "valign", "colspan", "rowspan", "bgcolor"):
                    cell.attrib.pop(name, None)
            row.tag = "div"
        for part in table.xpath("./thead|./tbody|./tfoot"):
            part.tag = "div"
        table.tag = "div"
        converted += 1
    return converted


def drop_social_embeds(tree: HtmlElement) -> int:
    """Remove embedded third-party posts (by the class names their embed snippets use)."""
    dropped = 0
    for node in list(tree.iter("blockquote", "div", "iframe")):
        classes = set((node.get("class") or "").split())
        if classes.intersection(_EMBED_CLASSES) and node.getparent() is not None:
            node.drop_tree()
            dropped += 1
    return dropped


def drop_consent_banners(tree: HtmlElement) -> int:
    """Remove cookie/consent dialogs: a paragraph of legal prose that extractors take for the article.

    Matched by the words their id or class uses; an element holding more text than any banner
    (MAX_BANNER_CHARS) is kept, in case a site names its content wrapper oddly.
    """
    dropped = 0
    for node in list(tree.iter("div", "section", "aside", "dialog", "form")):
        names = f"{node.get('id') or ''} {node.get('class') or ''}".lower()
        if (
            any(word in names for word in _CONSENT_WORDS)
            and node.getparent() is not None
            and len(node.text_content()) <= MAX_BANNER_CHARS
        ):
            node.drop_tree()
            dropped += 1
    return dropped


def open_details(tree: HtmlElement) -> None:
    """<summary> (an FAQ question) becomes a paragraph so extractors keep it."""
    for node in list(tree.iter("summary")):
        node.tag = "p"


def prepare_tree(tree: HtmlElement) -> None:
    """All of the fixes above, in place."""
    drop_social_embeds(tree)
    drop_consent_banners(tree)
    unwrap_layout_tables(tree)
    open_details(tree)
