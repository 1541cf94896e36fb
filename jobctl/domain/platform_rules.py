"""Each platform's published length and hashtag rules, and how each platform counts characters.

Pure. Every variation the content factory stores has passed `violations()` for its platform.

- X/Twitter: ≤ 280 in twitter-text's *weighted length* (configuration v3): text is NFC-normalised;
  code points in four ranges (Latin, Greek, Cyrillic, ... up to U+10FF, and some general
  punctuation) weigh 1, everything else (CJK, most symbols) weighs 2; every URL counts 23
  whatever its length; an emoji, even a sequence of several code points (ZWJ families, skin
  tones, flags, keycaps), counts 2. Implemented here from the published configuration rather than
  through a package: the only PyPI port (twitter-text-parser 3.0.0, May 2023) has had no release
  since; tests check this implementation against it.
- Threads 500, LinkedIn 3,000, Instagram 2,200 with at most 30 hashtags, Facebook 63,206. These
  are counted as the platforms' web composers count them, in UTF-16 code units (JavaScript
  string length): an emoji outside the BMP counts 2, never fewer than the platform's count.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

TWITTER_URL_LENGTH = 23
_TWITTER_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))  # weight 1 (v3 "ranges")

# URLs as twitter-text finds them: with or without a scheme, a host whose last label is a TLD.
# twitter-text checks the TLD against IANA's list; any alphabetic label of 2-24 letters is taken
# as one here, so a rare invalid TLD ("a.zzz") counts 23 where X counts its characters. Hosts
# that are IP addresses or `localhost` are not URLs to X, nor here.
_HOST = r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,24}(?![\w-])(?::\d{1,5})?"
_ASCII_HOST = r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}(?![a-z0-9-])(?::\d{1,5})?"
_URL = re.compile(
    r"(?:https?://" + _HOST + r"|(?<![\w@.\-/:])(?:www\.)?" + _ASCII_HOST + r")"
    r"(?:[/?#][!#-;=?-~]*)?",  # the path: printable ASCII but space, quotes and angle brackets
    re.IGNORECASE,
)
_URL_TRAILING = ".,;:!?)]}'\""
_HASHTAG = re.compile(r"(?<![\w&#])#(\w*[^\W\d]\w*)")

# Code points that extend an emoji into one user-perceived symbol.
_VS16, _ZWJ, _KEYCAP = 0xFE0F, 0x200D, 0x20E3
_SKIN = range(0x1F3FB, 0x1F400)
_TAGS = range(0xE0020, 0xE0080)
_REGIONAL = range(0x1F1E6, 0x1F200)


def _is_emoji_base(cp: int) -> bool:
    return (
        0x1F000 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or 0x2300 <= cp <= 0x23FF
        or 0x2B00 <= cp <= 0x2BFF
        or cp in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D, 0x3297, 0x3299)
    )


def _emoji_end(chars: list[int], i: int) -> int:
    """The index after the emoji sequence starting at i, or i if none starts there."""
    cp, n = chars[i], len(chars)
    if cp in _REGIONAL:
        return i + 2 if i + 1 < n and chars[i + 1] in _REGIONAL else i + 1
    if (chr(cp) in "0123456789#*") and i + 1 < n:
        j = i + 1 + (chars[i + 1] == _VS16)
        return j + 1 if j < n and chars[j] == _KEYCAP else i
    if not _is_emoji_base(cp):
        return i
    j = i + 1
    while j < n:
        c = chars[j]
        if c == _VS16 or c in _SKIN or c in _TAGS:
            j += 1
        elif c == _ZWJ and j + 1 < n and _is_emoji_base(chars[j + 1]):
            j += 2
        else:
            break
    return j


def _char_weight(cp: int) -> int:
    return 1 if any(lo <= cp <= hi for lo, hi in _TWITTER_LIGHT) else 2


def url_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each URL in `text`, trailing punctuation excluded."""
    spans = []
    for m in _URL.finditer(text):
        start, end = m.span()
        while end > start and text[end - 1] in _URL_TRAILING:
            url = text[start:end]
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break  # a balanced parenthesis belongs to the URL (Wikipedia links)
            end -= 1
        spans.append((start, end))
    return spans


def twitter_length(text: str) -> int:
    """twitter-text's weighted length of `text` (configuration v3)."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    urls = dict(url_spans(text))
    chars = [ord(c) for c in text]
    total, i = 0, 0
    while i < len(chars):
        if i in urls:
            total += TWITTER_URL_LENGTH
            i = urls[i]
            continue
        end = _emoji_end(chars, i)
        if end > i:
            total += 2
            i = end
            continue
        total += _char_weight(chars[i])
        i += 1
    return total


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def hashtags_in(text: str) -> list[str]:
    return ["#" + m.group(1) for m in _HASHTAG.finditer(text)]


@dataclass(frozen=True)
class PlatformRule:
    platform: str
    max_chars: int
    max_hashtags: int | None = None  # the platform's own cap (None: none published)
    weighted: bool = False  # X/Twitter's weighted count instead of UTF-16 units

    def count(self, text: str) -> int:
        """`text`'s length as this platform counts it."""
        return twitter_length(text) if self.weighted else utf16_length(text)

    def violations(self, text: str, *, max_chars: int | None = None) -> list[str]:
        """Every rule `text` breaks (empty: it may be posted). `max_chars` may only tighten."""
        problems = []
        limit = min(self.max_chars, max_chars) if max_chars else self.max_chars
        if not text.strip():
            problems.append("empty post")
        count = self.count(text)
        if count > limit:
            problems.append(f"{count} characters, over the limit of {limit}")
        if self.max_hashtags is not None and (n := len(hashtags_in(text))) > self.max_hashtags:
            problems.append(f"{n} hashtags, over the limit of {self.max_hashtags}")
        return problems


RULES: dict[str, PlatformRule] = {
    "twitter": PlatformRule("twitter", 280, weighted=True),
    "threads": PlatformRule("threads", 500),
    "linkedin": PlatformRule("linkedin", 3000),
    "instagram": PlatformRule("instagram", 2200, max_hashtags=30),
    "facebook": PlatformRule("facebook", 63206),
}


def rule_for(platform: str) -> PlatformRule:
    return RULES[platform]
