"""parse_feed on feeds of every format and of the kinds the wild serves: malformed, mis-declared
encodings, UTF-16, duplicates, relative links, thousands of items, an entity bomb."""

from __future__ import annotations

import json
import time

import pytest

from jobctl.services.context.errors import NotAFeedError
from jobctl.services.context.feeds import dedupe_key, parse_feed

BASE = "https://blog.example.org/feed/"
XML = {"content-type": "application/rss+xml"}

RSS2 = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Blog</title><link>https://blog.example.org/</link>
<item><title>First</title><link>/posts/1</link><guid isPermaLink="false">p1</guid>
<description>&lt;p&gt;Hello &lt;b&gt;world&lt;/b&gt;&lt;/p&gt;&lt;p&gt;Second para&lt;/p&gt;</description>
<pubDate>Tue, 01 Dec 2026 10:00:00 +0100</pubDate><author>ann@example.org (Ann)</author></item>
<item><title>Second</title><link>https://blog.example.org/posts/2</link>
<description>Plain text</description></item>
<item><title>First</title><link>/posts/1</link><guid isPermaLink="false">p1</guid>
<description>dup</description></item>
</channel></rss>"""

RSS1 = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://x.example/"><title>RDF</title><link>https://x.example/</link></channel>
<item rdf:about="https://x.example/a"><title>A</title><link>https://x.example/a</link>
<description>About A</description><dc:date>2026-11-30T08:00:00Z</dc:date></item>
</rdf:RDF>"""

RSS091 = """<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title>
<link>https://old.example/</link><item><title>Item</title><link>https://old.example/i</link>
<description>Old item</description></item></channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://atom.example/blog/">
<title>Atom blog</title><link href="https://atom.example/blog/"/>
<entry><id>tag:atom.example,2026:1</id><title>Entry</title><link href="entry-1"/>
<author><name>Bea</name></author><updated>2026-11-29T12:00:00+02:00</updated>
<content type="html">&lt;p&gt;Atom &lt;i&gt;body&lt;/i&gt;&lt;/p&gt;</content></entry></feed>"""


def test_rss2_items_text_links_dates_and_duplicates() -> None:
    feed = parse_feed(RSS2.encode(), headers=XML, base_url=BASE)
    assert feed.title == "Blog"
    assert [i.title for i in feed.items] == ["First", "Second"]
    first = feed.items[0]
    assert first.guid == "p1"
    assert first.link == "https://blog.example.org/posts/1"
    assert first.text == "Hello world\n\nSecond para"
    assert first.published_at is not None and first.published_at.hour == 9
    assert feed.items[1].guid is None or feed.items[1].guid == "https://blog.example.org/posts/2"
    assert any("repeated" in w for w in feed.warnings)


@pytest.mark.parametrize("doc,title", [(RSS1, "A"), (RSS091, "Item"), (ATOM, "Entry")])
def test_other_xml_formats(doc: str, title: str) -> None:
    feed = parse_feed(doc.encode(), headers=XML, base_url=BASE)
    assert [i.title for i in feed.items] == [title]
    assert feed.items[0].text


def test_atom_relative_links_resolve_against_xml_base() -> None:
    item = parse_feed(ATOM.encode(), headers=XML, base_url=BASE).items[0]
    assert item.link == "https://atom.example/blog/entry-1"
    assert item.author == "Bea"
    assert item.text == "Atom body"
    assert item.published_at is not None and item.published_at.hour == 10


def test_markup_becomes_text_without_scripts_in_titles_or_bodies() -> None:
    """feedparser's sanitizer is off (items keep text only): HTML titles are made text and a
    body's script, style and relative links leave nothing behind in the item."""
    doc = ATOM.replace(
        "<title>Entry</title>",
        '<title type="html">&lt;b&gt;Bold&lt;/b&gt; &amp;amp; '
        "&lt;script&gt;steal()&lt;/script&gt;news</title>",
    ).replace(
        "&lt;p&gt;Atom &lt;i&gt;body&lt;/i&gt;&lt;/p&gt;",
        "&lt;style&gt;p{}&lt;/style&gt;&lt;p&gt;Atom &lt;a href='rel/x'&gt;body&lt;/a&gt;"
        "&lt;script&gt;steal()&lt;/script&gt;&lt;/p&gt;",
    )
    item = parse_feed(doc.encode(), headers=XML, base_url=BASE).items[0]
    assert item.title == "Bold & news"
    assert item.text == "Atom body"
    assert item.link == "https://atom.example/blog/entry-1"


def test_each_entry_resolves_against_its_own_xml_base() -> None:
    """feedparser's base-URI check is memoised (feeds._feedparser): entries with other, or
    very long, xml:base values still resolve against their own."""
    long_base = "https://long.example/" + "d/" * 3000
    doc = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://atom.example/blog/"><title>B</title>
<entry xml:base="https://one.example/x/"><id>1</id><title>One</title><link href="a"/></entry>
<entry><id>2</id><title>Two</title><link href="b"/></entry>
<entry xml:base="{long_base}"><id>3</id><title>Three</title><link href="c"/></entry>
<entry xml:base="../up/"><id>4</id><title>Four</title><link href="d"/></entry></feed>"""
    links = [i.link for i in parse_feed(doc.encode(), headers=XML, base_url=BASE).items]
    assert links == [
        "https://one.example/x/a",
        "https://atom.example/blog/b",
        long_base + "c",
        "https://atom.example/up/d",
    ]


def test_json_feed() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON blog",
        "home_page_url": "https://json.example/",
        "items": [
            {
                "id": "1",
                "url": "/one",
                "title": "One",
                "content_html": "<p>Body <b>one</b></p>",
                "date_published": "2026-11-28T10:00:00Z",
                "authors": [{"name": "Cy"}],
            },
            {"id": 2, "content_text": "Just text"},
        ],
    }
    feed = parse_feed(
        json.dumps(doc).encode(), headers={"content-type": "application/feed+json"}, base_url=BASE
    )
    assert feed.title == "JSON blog"
    one, two = feed.items
    assert (one.link, one.text, one.author) == ("https://json.example/one", "Body one", "Cy")
    assert two.guid == "2" and two.text == "Just text"


def test_malformed_but_readable_feed_is_read_with_a_warning() -> None:
    broken = RSS2.replace("</channel></rss>", "<item><title>Unclosed & bad</title></item>")
    feed = parse_feed(broken.encode(), headers=XML, base_url=BASE)
    assert len(feed.items) >= 2
    assert any("malformed" in w for w in feed.warnings)


def test_cp1252_feed_declared_as_utf8_in_the_header() -> None:
    doc = RSS091.replace("Old item", "caf\xe9 \u2013 cr\xe8me").replace(
        '<?xml version="1.0"?>', '<?xml version="1.0" encoding="windows-1252"?>'
    )
    feed = parse_feed(
        doc.encode("cp1252"), headers={"content-type": "text/xml; charset=utf-8"}, base_url=BASE
    )
    assert feed.items and "cr" in feed.items[0].text


def test_utf16_feed_with_bom() -> None:
    doc = ATOM.replace('encoding="utf-8"', 'encoding="utf-16"').replace("Atom blog", "Blög")
    feed = parse_feed(doc.encode("utf-16"), headers=XML, base_url=BASE)
    assert feed.title == "Blög"
    assert feed.items[0].title == "Entry"


@pytest.mark.parametrize(
    "body,content_type",
    [
        (b"", "application/rss+xml"),
        (b"   \n", "text/xml"),
        (b"<!doctype html><html><head><title>Shop</title></head><body><p>Hi</p></body></html>", "text/html"),
        (b'{"error": "not found"}', "application/json"),
        (b"not json {", "application/json"),
    ],
)
def test_non_feeds_fail_clearly(body: bytes, content_type: str) -> None:
    with pytest.raises(NotAFeedError, match=r"not|empty"):
        parse_feed(body, headers={"content-type": content_type}, base_url=BASE)


def test_thousands_of_items() -> None:
    items = "".join(
        f"<item><title>T{i}</title><link>https://x.example/{i}</link><description>d{i}</description></item>"
        for i in range(5000)
    )
    doc = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>{items}</channel></rss>'
    started = time.monotonic()
    feed = parse_feed(doc.encode(), headers=XML, base_url=BASE)
    assert len(feed.items) == 5000
    assert len({dedupe_key(i) for i in feed.items}) == 5000
    assert time.monotonic() - started < 30


def test_entity_bomb_is_not_expanded() -> None:
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{lol}]>'
        '<rss version="2.0"><channel><title>Bomb</title><item><title>&lol9;</title>'
        "<link>https://x.example/b</link><description>boom</description></item></channel></rss>"
    )
    started = time.monotonic()
    feed = parse_feed(doc.encode(), headers=XML, base_url=BASE)
    assert time.monotonic() - started < 5
    assert all(len(i.title or "") < 10_000 for i in feed.items)
    assert any("DTD" in w for w in feed.warnings)


def test_a_feed_body_naming_a_local_path_is_not_opened() -> None:
    with pytest.raises(NotAFeedError):
        parse_feed(b"/etc/passwd", headers={"content-type": "text/plain"}, base_url=BASE)
