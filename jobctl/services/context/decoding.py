"""Bounded body decoders (gzip, deflate, brotli) and charset detection for fetched bodies.

httpx's own decoders inflate a whole chunk at once, so one 64 KiB chunk of a gzip bomb could
become ~64 MB in memory; ours never produce more than the room left under the cap plus one byte.
"""

from __future__ import annotations

import codecs
import re
import zlib
from typing import Protocol

import brotli
import charset_normalizer

from jobctl.services.context.errors import FetchError

ACCEPT_ENCODING = "gzip, deflate, br"


class Decoder(Protocol):
    def feed(self, data: bytes, room: int) -> bytes: ...
    def flush(self, room: int) -> bytes: ...


class _Identity:
    def feed(self, data: bytes, room: int) -> bytes:
        return data[: max(room, 0) + 1]

    def flush(self, room: int) -> bytes:
        return b""


class _Zlib:
    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._d = zlib.decompressobj(wbits)
        self._started = False

    def feed(self, data: bytes, room: int) -> bytes:
        out = bytearray()
        pending = data
        while pending and len(out) <= room:
            try:
                piece = self._d.decompress(pending, room - len(out) + 1)
            except zlib.error:
                if not self._started and self._wbits == zlib.MAX_WBITS:
                    # Some servers send raw deflate under "deflate": retry without the zlib header.
                    self._wbits, self._d = -zlib.MAX_WBITS, zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise FetchError("the compressed body is corrupt") from None
            self._started = True
            out += piece
            pending = self._d.unconsumed_tail
            if self._d.eof and self._d.unused_data:  # another gzip member follows
                pending = self._d.unused_data
                self._d = zlib.decompressobj(self._wbits)
        return bytes(out)

    def flush(self, room: int) -> bytes:
        return self._d.flush(max(room, 0) + 1)[: max(room, 0) + 1]


class _Brotli:
    def __init__(self) -> None:
        self._d = brotli.Decompressor()

    def feed(self, data: bytes, room: int) -> bytes:
        out = bytearray()
        try:
            out += self._d.process(data, output_buffer_limit=max(room, 0) + 1)
            while len(out) <= room and not self._d.can_accept_more_data():
                out += self._d.process(b"", output_buffer_limit=room - len(out) + 1)
        except brotli.error:
            raise FetchError("the brotli body is corrupt") from None
        return bytes(out)

    def flush(self, room: int) -> bytes:
        return b""


class _Chain:
    def __init__(self, stages: list[Decoder]) -> None:
        self._stages = stages

    def feed(self, data: bytes, room: int) -> bytes:
        for stage in self._stages:
            data = stage.feed(data, room)
        return data

    def flush(self, room: int) -> bytes:
        data = b""
        for stage in self._stages:
            data = stage.feed(data, room) + stage.flush(room)
        return data


def make_decoder(content_encoding: str, max_bytes: int) -> Decoder:
    """A decoder for a Content-Encoding value (codings applied in order, so undone in reverse)."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    stages: list[Decoder] = []
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            stages.append(_Zlib(16 + zlib.MAX_WBITS))
        elif coding == "deflate":
            stages.append(_Zlib(zlib.MAX_WBITS))
        elif coding == "br":
            stages.append(_Brotli())
        elif coding != "identity":
            raise FetchError(f"unsupported Content-Encoding {coding!r}")
    if not stages:
        return _Identity()
    return stages[0] if len(stages) == 1 else _Chain(stages)


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""", re.I)
# WHATWG: these labels mean windows-1252 on the web (bytes 0x80-0x9F are printable there).
_WEB_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
}


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = _WEB_ALIASES.get(label.strip().lower(), label.strip().lower())
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def sniff_bom(body: bytes) -> str | None:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    return None


def declared_charset(body: bytes) -> str | None:
    """The encoding an XML declaration or <meta charset> in the first 4 KiB names, if valid."""
    head = body[:4096]
    match = _XML_DECL.search(head) or _META.search(head)
    return _codec(match.group(1).decode("ascii")) if match else None


def decode_text(body: bytes, header_charset: str | None) -> str:
    """Decode a body: BOM (it wins, as in WHATWG), HTTP charset, declaration, then detection."""
    bom = sniff_bom(body)
    if bom is not None:
        return body.decode(bom, errors="replace")
    for label in (_codec(header_charset), declared_charset(body)):
        if label is not None:
            try:
                return body.decode(label)
            except UnicodeDecodeError:
                continue  # a lying label: try the next clue
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    encoding = best.encoding if best is not None else "cp1252"
    return body.decode(encoding, errors="replace")
