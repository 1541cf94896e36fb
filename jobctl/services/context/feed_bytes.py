"""A fetched XML feed's bytes made safe and unambiguous before feedparser sees them.

- UTF-16/UTF-32 (by BOM, or by the NUL pattern of `<?xml`) are transcoded to UTF-8 with the
  declaration rewritten: the DTD check below works on bytes, and a bomb spelled in UTF-16 would
  otherwise pass it unseen.
- A header charset the bytes contradict is dropped (a BOM is the stronger signal, as in WHATWG,
  and a wide charset cannot describe a body whose first bytes hold no NUL): feedparser trusts
  the HTTP charset over everything (RFC 3023) and then fails on a plainly readable feed.
- An internal DTD subset in the prolog is removed, wherever it starts: that is where
  entity-expansion bombs ("billion laughs") live, no real feed needs one, and feedparser's
  loose parser expands some of what it declares. The scan skips any amount of leading
  comments and processing instructions, and quoted strings inside the subset.
"""

from __future__ import annotations

import codecs
import re

from jobctl.services.context.decoding import sniff_bom

_WIDE_BY_NULS = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_DECL_ENCODING = re.compile(r"""\A(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""", re.I)
_DOCTYPE = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.I)


def prepare(body: bytes, headers: dict[str, str], warnings: list[str]) -> tuple[bytes, dict[str, str]]:
    """(body, headers) for feedparser; what was changed is said in `warnings`."""
    body, headers = _wide_to_utf8(body, headers)
    headers = _trusted_charset(headers, body, warnings)
    stripped = strip_internal_subset(body)
    if stripped is not None:
        warnings.append("removed an internal DTD subset (entity declarations are not expanded)")
        body = stripped
    return body, headers


def _media(headers: dict[str, str]) -> tuple[str, str | None]:
    media, _, params = headers.get("content-type", "").partition(";")
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip("\"'"):
            return media.strip(), value.strip().strip("\"'")
    return media.strip(), None


def _wide_to_utf8(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    bom = sniff_bom(body)
    codec = bom if bom in ("utf-16", "utf-32") else None
    if codec is None and bom is None:
        codec = next((name for prefix, name in _WIDE_BY_NULS if body.startswith(prefix)), None)
    if codec is None:
        return body, headers
    text = body.decode(codec, errors="replace").lstrip("\ufeff")
    text = _DECL_ENCODING.sub(lambda m: f"{m.group(1)}{m.group(2)}utf-8{m.group(2)}", text, count=1)
    media, _ = _media(headers)
    return text.encode("utf-8"), {**headers, "content-type": f"{media}; charset=utf-8" if media else ""}


def _codec_name(label: str) -> str | None:
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _trusted_charset(headers: dict[str, str], body: bytes, warnings: list[str]) -> dict[str, str]:
    media, label = _media(headers)
    if not label:
        return headers
    bom = sniff_bom(body)
    wide = label.lower().replace("_", "-").startswith(("utf-16", "utf-32", "ucs-2", "ucs-4"))
    if bom is not None:
        same_family = wide and bom.startswith(label.lower()[:6])  # "utf-16" BOM, "utf-16le" label
        contradicts = _codec_name(bom) != _codec_name(label) and not same_family
    else:
        contradicts = wide and b"\x00" not in body[:4]
    if contradicts:
        warnings.append(f"ignored the HTTP charset {label!r}: the body's bytes contradict it")
        return {**headers, "content-type": media}
    return headers


def _skip_prolog(body: bytes) -> int:
    """The offset of the first thing in the prolog that is not space, a comment or a PI."""
    i = len(codecs.BOM_UTF8) if body.startswith(codecs.BOM_UTF8) else 0
    while True:
        while i < len(body) and body[i] in b" \t\r\n":
            i += 1
        for opener, closer in ((b"<?", b"?>"), (b"<!--", b"-->")):
            if body.startswith(opener, i):
                end = body.find(closer, i + len(opener))
                if end < 0:
                    return len(body)
                i = end + len(closer)
                break
        else:
            return i


def strip_internal_subset(body: bytes) -> bytes | None:
    """The body without the internal subset of its DOCTYPE (the DOCTYPE too), or None if none."""
    start = _skip_prolog(body)
    match = _DOCTYPE.match(body, start)
    if match is None:
        return None
    i, quote = match.end(), 0
    while i < len(body):  # to the "]" that closes the subset, skipping quoted strings and comments
        byte = body[i]
        if quote:
            if byte == quote:
                quote = 0
        elif byte in b"\"'":
            quote = byte
        elif body.startswith(b"<!--", i):
            end = body.find(b"-->", i + 4)
            i = len(body) if end < 0 else end + 2
        elif byte == ord("]"):
            close = body.find(b">", i)
            return body[:start] + (body[close + 1 :] if close >= 0 else b"")
        i += 1
    return body[:start]  # never closed: nothing after it is a document anyway
