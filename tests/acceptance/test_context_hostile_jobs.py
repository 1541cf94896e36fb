"""Hostile answers through a real worker: bad documents fail at once (one attempt, a clear error),
a feed answering 500 is retried and counts as one failure of its source."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli

pytestmark = pytest.mark.slow


def _pdf(pages: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(text=f"Page {i + 1}")
    return bytes(pdf.output())


def _locked_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf(1))))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _broken_docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("Brand guide")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()[:2_000]


@pytest.fixture
def hostile_site() -> Iterator[tuple[str, list[str]]]:
    pages: dict[str, tuple[int, str, bytes]] = {
        "/locked.pdf": (200, "application/pdf", _locked_pdf()),
        "/huge.pdf": (200, "application/pdf", _pdf(520)),
        "/broken.docx": (200, "application/octet-stream", _broken_docx()),
        "/feed.xml": (500, "text/plain", b"internal error"),
    }
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            hits.append(self.path)
            status, content_type, body = pages.get(self.path, (404, "text/plain", b"no"))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def _wait_json(cli: Cli, *args: str) -> dict[str, Any]:
    out = cli.run("enqueue", *args, "--org", "acme", "--wait", "--json", timeout=120)
    assert out.stdout, out.stderr
    return dict(json.loads(out.stdout))


def test_bad_documents_fail_once_and_a_500_feed_is_one_failure(
    embedded_cli: Cli, hostile_site: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, hits = hostile_site
    embedded_cli.env["JOBCTL_FETCH_ALLOW_PRIVATE"] = "1"
    embedded_cli.env["JOBCTL_RETRY_INTERVALS"] = "1,1,1"
    embedded_cli.start_worker("context-scraping", log=tmp_path / "worker.log", extra=("--concurrency", "2"))
    for name, message in (
        ("locked.pdf", "encrypted"),
        ("huge.pdf", "more than the cap"),
        ("broken.docx", "corrupt"),
    ):
        job = _wait_json(embedded_cli, "process-document", f"url={base}/{name}")
        assert job["status"] == "FAILED", job
        assert job["attempts"] == 1, job  # no retry: a retry cannot fix the file
        assert message in job["error"]["message"], job["error"]
        assert "Traceback" not in job["error"]["message"]
        assert hits.count(f"/{name}") == 1

    feed = _wait_json(embedded_cli, "sync-rss", f"feed_url={base}/feed.xml")
    assert feed["status"] == "FAILED", feed
    assert feed["attempts"] > 1 and hits.count("/feed.xml") == feed["attempts"]  # retried
    assert "500" in feed["error"]["message"]
    db = Path(embedded_cli.env["JOBCTL_DATA_DIR"]) / "jobctl.db"
    with sqlite3.connect(db) as conn:
        failures, status = conn.execute(
            "SELECT consecutive_failures, status FROM context_sources WHERE url = ?", (f"{base}/feed.xml",)
        ).fetchone()
    assert (failures, status) == (1, "ACTIVE")  # the retries of one job are one failure
