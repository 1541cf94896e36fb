"""Syncs against a real HTTP server on 127.0.0.1 that answers badly or with hostile content.

Status handling (304 with ETag and with Last-Modified, 301, 410, 500), the whole-request
deadline against a drip-fed body (shortened through the settings file), the body cap against a
huge body and gzip/brotli bombs, a redirect chain that turns private, deeply nested HTML, and
documents that must fail for good (huge, encrypted, corrupt).
"""

from __future__ import annotations

import gzip
import io
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from ipaddress import IPv4Address
from pathlib import Path

import brotli
import pytest
from context_http import LOCAL, Answer, Site, rss_source, run_for, send, serving

from jobctl.domain.context import SourceKind, SourceStatus
from jobctl.domain.errors import PermanentJobError
from jobctl.processors.context_support import policy_for
from jobctl.services.context import fetch as fetch_module
from jobctl.services.context.errors import (
    FetchTimeoutError,
    HTTPStatusError,
    ResponseTooLargeError,
    UnsafeURLError,
)
from jobctl.services.context.fetch import FetchPolicy, fetch
from jobctl.services.context.sync import process_document, scrape_website, sync_feed
from jobctl.settings import load_settings
from jobctl.store.context_repo import ContextRepository

FEED = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>B</title>'
    b"<item><title>One</title><guid>1</guid><description>first</description></item>"
    b"<item><title>Two</title><guid>2</guid><description>second</description></item></channel></rss>"
)
RSS = {"Content-Type": "application/rss+xml"}


@pytest.fixture
def site() -> Iterator[Site]:
    with serving() as s:
        yield s


@pytest.fixture
def repo(engine: object) -> ContextRepository:
    return ContextRepository(engine)  # type: ignore[arg-type]


def _conditional(validator: str, value: str) -> object:
    request_header = {"ETag": "if-none-match", "Last-Modified": "if-modified-since"}[validator]

    def route(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get(request_header) == value:
            send(handler, Answer(304, b"", {validator: value}))
        else:
            send(handler, Answer(200, FEED, {**RSS, validator: value}))

    return route


@pytest.mark.parametrize(
    "validator,value", [("ETag", '"v1"'), ("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT")]
)
def test_conditional_get_304_is_a_success_with_nothing_new(
    repo: ContextRepository, site: Site, validator: str, value: str
) -> None:
    source = rss_source(repo, site.serve("/feed", _conditional(validator, value)))  # type: ignore[arg-type]
    first = sync_feed(repo, source, policy=LOCAL, run=run_for("j1"))
    assert (first["new"], first["not_modified"]) == (2, False)
    stored = repo.get_source(source.id)
    assert stored is not None and (stored.etag or stored.last_modified) == value
    lines: list[str] = []
    second = sync_feed(repo, stored, policy=LOCAL, run=run_for("j2", lines))
    assert (second["new"], second["not_modified"]) == (0, True)
    assert any("304" in line for line in lines)
    after = repo.get_source(source.id)
    assert after is not None and (after.etag or after.last_modified) == value  # validators kept
    assert repo.count_items(source.id) == 2


def test_301_moves_the_source_and_the_next_sync_goes_straight_there(
    repo: ContextRepository, site: Site
) -> None:
    site.serve("/new-feed", Answer(200, FEED, RSS))
    source = rss_source(repo, site.serve("/old-feed", Answer(301, b"", {"Location": "/new-feed"})))
    result = sync_feed(repo, source, policy=LOCAL, run=run_for("j1"))
    assert result["moved_to"] == f"{site.base}/new-feed"
    moved = repo.get_source(source.id)
    assert moved is not None and moved.url == f"{site.base}/new-feed"
    site.hits.clear()
    again = sync_feed(repo, moved, policy=LOCAL, run=run_for("j2"))
    assert site.paths() == ["/new-feed"] and again["new"] == 0


def test_410_disables_the_source_without_retry(repo: ContextRepository, site: Site) -> None:
    source = rss_source(repo, site.serve("/gone", Answer(410, b"gone", {"Content-Type": "text/plain"})))
    with pytest.raises(HTTPStatusError, match="410") as caught:
        sync_feed(repo, source, policy=LOCAL, run=run_for("j1"))
    assert caught.value.retryable is False
    after = repo.get_source(source.id)
    assert after is not None and after.status == SourceStatus.DISABLED and "410" in (after.last_error or "")


def test_500_counts_one_failure_per_job_and_is_retryable(repo: ContextRepository, site: Site) -> None:
    source = rss_source(repo, site.serve("/broken", Answer(500, b"oops", {"Content-Type": "text/plain"})))
    for _attempt in range(3):  # three attempts of one job
        with pytest.raises(HTTPStatusError) as caught:
            sync_feed(repo, source, policy=LOCAL, run=run_for("job-a"))
        assert caught.value.retryable is True
    after = repo.get_source(source.id)
    assert after is not None and after.consecutive_failures == 1 and "500" in (after.last_error or "")
    with pytest.raises(HTTPStatusError):
        sync_feed(repo, source, policy=LOCAL, run=run_for("job-b"))
    assert repo.get_source(source.id).consecutive_failures == 2  # type: ignore[union-attr]


def _drip(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", str(len(FEED)))
    handler.end_headers()
    try:
        for byte in FEED:  # one byte every 50 ms: each read is quick, the whole is ~10 s
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.05)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up, as it should


def test_drip_fed_body_is_cut_by_the_whole_request_deadline_from_the_settings(
    repo: ContextRepository, site: Site, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[fetch]\nallow_private_addresses = true\ntimeout_s = 1.5\n")
    policy = policy_for(load_settings(config_path=config, env={"HOME": str(tmp_path)}))
    assert policy.total_timeout_s == 1.5
    source = rss_source(repo, site.serve("/drip", _drip))
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError, match=r"longer than 1\.5 s"):
        sync_feed(repo, source, policy=policy, run=run_for("j1"))
    assert time.monotonic() - started < 4.0
    assert repo.get_source(source.id).consecutive_failures == 1  # type: ignore[union-attr]


def _huge_chunked(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"<p>" + b"x" * 65_000 + b"</p>"
    try:
        for _ in range(2_000):  # 130 MB if nobody stops reading
            handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass


ZEROS = b"\0" * 60_000_000
BOMBS = {
    "gzip": gzip.compress(ZEROS, compresslevel=9),
    "br": brotli.compress(ZEROS, quality=5),
    "gzip, br": brotli.compress(gzip.compress(ZEROS, compresslevel=6), quality=5),
}


@pytest.mark.parametrize("kind", ["content-length", "chunked", "gzip", "br", "gzip, br"])
def test_huge_bodies_and_bombs_stop_at_the_cap(site: Site, kind: str) -> None:
    if kind == "content-length":
        route: object = Answer(200, b"a" * 30_000_000, {"Content-Type": "text/html"})
    elif kind == "chunked":
        route = _huge_chunked
    else:
        route = Answer(200, BOMBS[kind], {"Content-Type": "text/html", "Content-Encoding": kind})
        assert len(BOMBS[kind]) < 200_000  # a small download that would inflate to 60 MB
    url = site.serve("/big", route)  # type: ignore[arg-type]
    policy = FetchPolicy(allow_private_addresses=True, max_bytes=5_000_000, total_timeout_s=20)
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ResponseTooLargeError, match="larger than 5000000 bytes"):
            fetch(url, policy=policy)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 25_000_000, peak  # the cap plus buffers, never the inflated 60 MB
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/admin",
        "http://localhost:{port}/admin",
        "http://[::ffff:127.0.0.1]:{port}/admin",
        "http://2130706433:{port}/admin",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_redirect_chain_turning_private_is_refused(monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    """127.0.0.2 plays a public host (the address judge is told so; everything else is real):
    two hops there, then a redirect to a private address, which must never be connected to."""
    real_judge = fetch_module.refusal_reason
    monkeypatch.setattr(
        fetch_module, "refusal_reason", lambda ip: None if ip == IPv4Address("127.0.0.2") else real_judge(ip)
    )
    with serving("127.0.0.2") as public, serving("127.0.0.1") as private:
        port = private.base.rsplit(":", 1)[1]
        private.serve("/admin", Answer(200, b"secret", {"Content-Type": "text/html"}))
        public.serve("/start", Answer(302, b"", {"Location": "/hop"}))
        public.serve("/hop", Answer(301, b"", {"Location": target.format(port=port)}))
        public.serve("/fine", Answer(200, b"<p>public page</p>", {"Content-Type": "text/html"}))
        assert fetch(public.base + "/fine", policy=FetchPolicy(total_timeout_s=5)).status == 200
        with pytest.raises(UnsafeURLError, match="refused"):
            fetch(public.base + "/start", policy=FetchPolicy(total_timeout_s=5))
        assert public.paths() == ["/fine", "/start", "/hop"]
        assert private.hits == []


def test_deeply_nested_html_page_stays_fast(repo: ContextRepository, site: Site) -> None:
    depth = 100_000
    page = (
        "<html><head><title>Deep</title></head><body>" + "<div>" * depth
        + "<p>Buried paragraph of text that is long enough to count as the article body.</p>"
        + "</div>" * depth + "<article><p>" + "A real article paragraph with plenty of words. " * 20
        + "</p></article></body></html>"
    ).encode()  # fmt: skip
    url = site.serve("/deep.html", Answer(200, page, {"Content-Type": "text/html"}))
    source = repo.add_source("acme", SourceKind.WEBSITE, url, None, run_for("j").now())[0]
    started = time.monotonic()
    try:
        result = scrape_website(repo, source, policy=LOCAL, run=run_for("j1"))
        assert result["pages"] == 1
    except PermanentJobError as exc:  # no text found is a clear, permanent answer too
        assert "main text" in str(exc)
    assert time.monotonic() - started < 20


def _pdf(pages: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(text=f"Page {i + 1} of the annual report")
    return bytes(pdf.output())


def _encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf(1))))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _corrupt_docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("Brand guide")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()[:2_000] + b"\0" * 500  # the zip's central directory is gone


PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize(
    "name,body,content_type,message",
    [
        ("huge.pdf", _pdf(520), PDF_TYPE, "more than the cap of 500"),
        ("locked.pdf", _encrypted_pdf(), PDF_TYPE, "encrypted"),
        ("broken.docx", _corrupt_docx(), DOCX_TYPE, "corrupt"),
        ("oversized.pdf", b"%PDF-1.4\n" + b"0" * 12_000_000, PDF_TYPE, "larger than"),
    ],
)
def test_bad_documents_fail_clearly_without_retry(
    repo: ContextRepository, site: Site, name: str, body: bytes, content_type: str, message: str
) -> None:
    url = site.serve(f"/{name}", Answer(200, body, {"Content-Type": content_type}))
    source = repo.add_source("acme", SourceKind.DOCUMENT, url, None, run_for("j").now())[0]
    started = time.monotonic()
    with pytest.raises(Exception, match=message) as caught:
        process_document(repo, source, policy=LOCAL, run=run_for("j1"), documents_root=None)
    assert isinstance(caught.value, PermanentJobError) or getattr(caught.value, "retryable", True) is False
    assert time.monotonic() - started < 30
    after = repo.get_source(source.id)
    assert after is not None and after.consecutive_failures == 1 and message in (after.last_error or "")
    assert repo.count_items(source.id) == 0


def test_fetches_reuse_the_threads_connection_but_never_its_cookies(site: Site) -> None:
    """The thread's shared client keeps connections alive between fetches (a scrape of many
    pages does not reconnect each time); cookies one site set are not sent by the next fetch."""
    site.serve(
        "/set", Answer(200, b"<p>a</p>", {"Content-Type": "text/html", "Set-Cookie": "sid=org-a; Path=/"})
    )
    site.serve("/next", Answer(200, b"<p>b</p>", {"Content-Type": "text/html"}))
    fetch(site.base + "/set", policy=LOCAL)
    fetch(site.base + "/next", policy=LOCAL)
    fetch(site.base + "/next", policy=LOCAL)
    assert len(set(site.client_ports)) == 1, site.client_ports  # one TCP connection for three GETs
    assert all("cookie" not in headers for _path, headers in site.hits)
    refused = FetchPolicy(total_timeout_s=5)  # another address rule: another client, its own guard
    with pytest.raises(UnsafeURLError):
        fetch(site.base + "/next", policy=refused)
    assert len(site.hits) == 3
