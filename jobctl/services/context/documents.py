"""Documents (PDF, DOCX, HTML, Markdown, plain text) to text and chunks, within size caps.

Type comes from magic bytes first, then the MIME type, then the file name. Errors are
`DocumentError` subclasses without retry semantics (the processor maps them to "no retry").
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from jobctl.services.context.extract import ExtractionError, extract_article

MAX_DOCX_UNCOMPRESSED = 200_000_000
"""Total uncompressed bytes of a DOCX's zip members we accept (zip bomb guard)."""


class DocumentError(Exception):
    """The document cannot be turned into text."""


class EncryptedDocumentError(DocumentError):
    """The document is encrypted (password protected)."""


class CorruptDocumentError(DocumentError):
    """The document is damaged or not what its type claims."""


class DocumentTooLargeError(DocumentError):
    """The document exceeds a page, size or character cap."""


class UnsupportedDocumentError(DocumentError):
    """The document's type is not one we read."""


@dataclass(frozen=True)
class Document:
    """Text of one document and its chunks (paragraph-aligned, see chunk_text)."""

    title: str | None
    text: str
    chunks: list[str]
    mime_type: str
    pages: int | None


PDF, DOCX, HTML, MARKDOWN, TEXT = ("application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text/html", "text/markdown", "text/plain")
_SUFFIXES = {".pdf": PDF, ".docx": DOCX, ".html": HTML, ".htm": HTML, ".md": MARKDOWN,
             ".markdown": MARKDOWN, ".txt": TEXT, ".text": TEXT}


def path_under_root(path: str | Path, root: str | Path) -> Path:
    """`path` resolved (symlinks followed); ValueError unless it lies inside `root`."""
    root_resolved = Path(root).resolve(strict=False)
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root_resolved / candidate
    resolved = candidate.resolve(strict=False)
    if resolved != root_resolved and root_resolved not in resolved.parents:
        raise ValueError(f"path {str(path)!r} is outside the documents root {str(root_resolved)!r}")
    return resolved


def detect_type(data: bytes, filename: str | None, mime_type: str | None) -> str:
    """The document's MIME type: magic bytes, then declared MIME, then file name suffix."""
    head = data[:1024].lstrip()
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        named_docx = (filename or "").lower().endswith(".docx") or (mime_type or "") == DOCX
        if named_docx or b"word/" in data[:65536]:
            return DOCX
        raise UnsupportedDocumentError("unsupported document: a zip archive that is not a DOCX")
    lowered = head.lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return HTML
    declared = (mime_type or "").split(";")[0].strip().lower()
    if declared in (PDF, DOCX, HTML, MARKDOWN, TEXT):
        return declared
    if declared == "application/xhtml+xml":
        return HTML
    suffix = Path(filename or "").suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    if declared.startswith("text/") or not declared:
        return TEXT
    raise UnsupportedDocumentError(f"unsupported document type {declared!r}")


def chunk_text(text: str, max_chars: int = 4000, overlap: int = 200) -> list[str]:
    """Chunks of at most `max_chars`, split on paragraph boundaries, ~`overlap` chars repeated."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    pieces: list[str] = []
    for paragraph in paragraphs:  # a paragraph longer than a chunk is cut at whitespace
        para = paragraph
        while len(para) > max_chars:
            cut = para.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            pieces.append(para[:cut].strip())
            para = para[cut:].strip()
        if para:
            pieces.append(para)
    chunks: list[str] = []
    current: list[str] = []
    for piece in pieces:
        if current and len("\n\n".join([*current, piece])) > max_chars:
            chunks.append("\n\n".join(current))
            tail = current[-1][-overlap:] if overlap > 0 else ""
            current = [tail] if tail and len(tail) + len(piece) + 2 <= max_chars else []
        current.append(piece)
    if current:
        chunks.append("\n\n".join(current))
    return chunks


def _pdf(data: bytes, max_pages: int) -> tuple[str | None, str, int]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise EncryptedDocumentError("the PDF is encrypted")
        count = len(reader.pages)
        if count > max_pages:
            raise DocumentTooLargeError(f"the PDF has {count} pages, more than the cap of {max_pages}")
        texts = [(page.extract_text() or "").strip() for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise CorruptDocumentError(f"the PDF is corrupt: {exc}") from exc
    return (str(title) if title else None), "\n\n".join(t for t in texts if t), count


def _docx(data: bytes) -> tuple[str | None, str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise CorruptDocumentError(f"the DOCX is corrupt: {exc}") from exc
    if total > MAX_DOCX_UNCOMPRESSED:
        raise DocumentTooLargeError(f"the DOCX unpacks to {total} bytes, more than {MAX_DOCX_UNCOMPRESSED}")
    import docx  # python-docx parses with lxml, resolve_entities off in its oxml parser

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError/ValueError/PackageNotFoundError
        raise CorruptDocumentError(f"the DOCX is corrupt: {exc}") from exc
    paragraphs = [p.text.strip() for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            cells = " ".join(c.text.strip() for c in row.cells if c.text.strip())
            if cells:
                paragraphs.append(cells)
    title = document.core_properties.title or None
    return title, "\n\n".join(paragraphs)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(data[:1_000_000]).best()
        return data.decode(best.encoding if best else "latin-1", "replace")


def _markdown(text: str) -> tuple[str | None, str]:
    title: str | None = None
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw
        heading = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            title = title or heading.group(1)
            lines.extend(["", heading.group(1), ""])
            continue
        line = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", line)
        line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)
        line = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line)
        line = re.sub(r"(\*\*|__|`)", "", line).lstrip("> ")
        lines.append(line)
    return title, re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def extract_document(data: bytes, *, filename: str | None = None, mime_type: str | None = None,
                     max_pages: int = 500, max_chars: int = 5_000_000) -> Document:
    """The text and chunks of one document; DocumentError subclasses on bad input."""
    kind = detect_type(data, filename, mime_type)
    pages: int | None = None
    if kind == PDF:
        title, text, pages = _pdf(data, max_pages)
    elif kind == DOCX:
        title, text = _docx(data)
    elif kind == HTML:
        try:
            article = extract_article(_decode(data), url="file:///" + (filename or "document.html"))
        except ExtractionError as exc:
            raise CorruptDocumentError(f"the HTML document has no main text: {exc}") from exc
        title, text = article.title, article.text
    elif kind == MARKDOWN:
        title, text = _markdown(_decode(data))
    else:
        title, text = None, _decode(data).strip()
    if len(text) > max_chars:
        raise DocumentTooLargeError(f"the document has {len(text)} characters, more than {max_chars}")
    if not text.strip():
        raise CorruptDocumentError("the document has no text")
    return Document(title=title, text=text, chunks=chunk_text(text), mime_type=kind, pages=pages)
