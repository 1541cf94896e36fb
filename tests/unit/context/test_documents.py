"""extract_document on real PDFs (fpdf2) and DOCX files (python-docx) written here, plus hostile ones."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from jobctl.services.context.documents import (
    CorruptDocumentError,
    DocumentTooLargeError,
    EncryptedDocumentError,
    UnsupportedDocumentError,
    chunk_text,
    extract_document,
    path_under_root,
)


def _pdf(pages: int = 1, text: str = "Quarterly report shows growth") -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(text=f"{text} page {i + 1}")
    return bytes(pdf.output())


def _docx() -> bytes:
    document = docx.Document()
    document.core_properties.title = "Plan"
    document.add_heading("Plan for 2025", 1)
    document.add_paragraph("We will ship the context engine.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_pdf_text_and_pages() -> None:
    doc = extract_document(_pdf(2))
    assert doc.mime_type == "application/pdf" and doc.pages == 2
    assert "Quarterly report shows growth page 2" in doc.text and doc.chunks


def test_pdf_page_cap_encrypted_and_corrupt() -> None:
    with pytest.raises(DocumentTooLargeError):
        extract_document(_pdf(5), max_pages=3)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf())))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(EncryptedDocumentError):
        extract_document(out.getvalue())
    with pytest.raises(CorruptDocumentError):
        extract_document(b"%PDF-1.4\n garbage \x00\x01")


def test_docx_text_corrupt_and_zip_bomb() -> None:
    doc = extract_document(_docx())
    assert doc.title == "Plan" and "ship the context engine" in doc.text
    with pytest.raises(CorruptDocumentError):
        extract_document(b"PK\x03\x04broken", filename="x.docx")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * 250_000_000)
    with pytest.raises(DocumentTooLargeError):
        extract_document(bomb.getvalue(), filename="bomb.docx")


def test_markdown_text_and_unsupported() -> None:
    doc = extract_document(b"# Title\n\nSome **bold** [link](http://x).\n\n- item", filename="a.md")
    assert doc.title == "Title" and doc.text == "Title\n\nSome bold link.\n\nitem"
    latin = "Grüße aus Köln, schöne Straße und große Bäume für alle Bürger. " * 5
    assert extract_document(latin.encode("cp1252"), filename="a.txt").text == latin.strip()
    with pytest.raises(UnsupportedDocumentError):
        extract_document(b"\x89PNG...", mime_type="image/png")


def test_chunk_text_on_paragraphs() -> None:
    text = "\n\n".join(f"paragraph {i} " + "word " * 50 for i in range(40))
    chunks = chunk_text(text, max_chars=1000, overlap=100)
    assert all(len(c) <= 1000 for c in chunks) and len(chunks) > 5
    assert chunks[0].startswith("paragraph 0")


def test_path_under_root(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.txt").write_text("x")
    assert path_under_root("a.txt", root) == (root / "a.txt").resolve()
    (root / "escape").symlink_to("/etc")
    with pytest.raises(ValueError, match="outside the documents root"):
        path_under_root(root / "escape" / "passwd", root)
    with pytest.raises(ValueError):
        path_under_root("../x", root)
