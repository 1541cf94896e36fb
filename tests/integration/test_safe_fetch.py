"""The SSRF-safe fetch against a real HTTP server on 127.0.0.1: caps, redirects, conditional GET,
and every refused address spelling, with the server counting hits to prove nothing was fetched."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jobctl.services.context.errors import (
    FetchTimeoutError,
    HTTPStatusError,
    ResponseTooLargeError,
    UnsafeURLError,
)
from jobctl.services.context.fetch import FetchPolicy, fetch

HITS: list[str] = []
ARTICLE = "<html><head><meta charset='windows-1252'></head><body><p>caf\xe9 cr\xe8me</p></body></html>"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # quiet test output
        pass

    def _send(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        HITS.append(self.path)
        if self.path == "/page":
            self._send(200, ARTICLE.encode("cp1252"), Content_Type="text/html")
        elif self.path == "/moved":
            self._send(301, b"", Location="/page")
        elif self.path == "/loop":
            self._send(302, b"", Location="/loop")
        elif self.path == "/bomb":
            bomb = gzip.compress(b"a" * 5_000_000)
            self._send(200, bomb, Content_Type="text/html", Content_Encoding="gzip")
        elif self.path == "/etag":
            if self.headers.get("If-None-Match") == '"v1"':
                self._send(304, b"", ETag='"v1"')
            else:
                self._send(200, b"<p>feed</p>", Content_Type="text/html", ETag='"v1"')
        elif self.path == "/gone":
            self._send(410, b"gone", Content_Type="text/plain")
        elif self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):  # a byte every 0.1 s: each read is quick, the whole is not
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        else:
            self._send(404, b"no", Content_Type="text/plain")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


LOCAL = FetchPolicy(allow_private_addresses=True, total_timeout_s=5)


def test_fetch_decodes_the_declared_charset(server: str) -> None:
    result = fetch(f"{server}/page", policy=LOCAL)
    assert result.status == 200
    assert result.content_type == "text/html"
    assert "café crème" in result.text()


def test_permanent_redirect_is_followed_and_reported(server: str) -> None:
    result = fetch(f"{server}/moved", policy=LOCAL)
    assert result.url.endswith("/page")
    assert result.permanent_redirect_to is not None
    assert result.permanent_redirect_to.endswith("/page")


def test_redirect_loop_fails_clearly(server: str) -> None:
    with pytest.raises(Exception, match="redirect"):
        fetch(f"{server}/loop", policy=LOCAL)


def test_decompression_bomb_stops_at_the_cap(server: str) -> None:
    with pytest.raises(ResponseTooLargeError):
        fetch(f"{server}/bomb", policy=FetchPolicy(allow_private_addresses=True, max_bytes=1_000_000))


def test_conditional_get_answers_304(server: str) -> None:
    first = fetch(f"{server}/etag", policy=LOCAL)
    assert first.headers["etag"] == '"v1"'
    second = fetch(f"{server}/etag", policy=LOCAL, etag='"v1"')
    assert second.status == 304
    assert second.body == b""


def test_410_is_an_http_status_error(server: str) -> None:
    with pytest.raises(HTTPStatusError) as caught:
        fetch(f"{server}/gone", policy=LOCAL)
    assert caught.value.status == 410


def test_total_deadline_covers_the_whole_body(server: str) -> None:
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError):
        fetch(f"{server}/slow", policy=FetchPolicy(allow_private_addresses=True, total_timeout_s=1.0))
    assert time.monotonic() - started < 3.0


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f.1",
        "0177.0.0.1",
        "localhost",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::]",
        "169.254.169.254",
        "10.0.0.1",
        "100.64.0.1",
        "0.0.0.0",
    ],
)
def test_unsafe_addresses_are_refused_and_nothing_is_fetched(server: str, host: str) -> None:
    port = server.rsplit(":", 1)[1]
    before = len(HITS)
    with pytest.raises(UnsafeURLError):
        fetch(f"http://{host}:{port}/page", policy=FetchPolicy(total_timeout_s=5))
    assert len(HITS) == before


def test_only_http_and_https(server: str) -> None:
    for url in ("file:///etc/passwd", "ftp://example.com/", "gopher://example.com/"):
        with pytest.raises(UnsafeURLError):
            fetch(url, policy=LOCAL)


def test_redirect_to_a_private_address_is_refused(server: str) -> None:
    # a redirect from an allowed address would be checked hop by hop; with private refused even
    # the first hop is refused, so the server never sees the request
    before = len(HITS)
    with pytest.raises(UnsafeURLError):
        fetch(f"{server}/moved", policy=FetchPolicy(total_timeout_s=5))
    assert len(HITS) == before
