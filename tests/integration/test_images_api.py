"""generate-image through an OpenAI-compatible images server on 127.0.0.1: the inline image fitted
to the exact size asked, deferral on 429, refusal of URL-only answers and of bytes that are not an
image, and the asset recorded with its provider; the key never in an error."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from jobctl.domain.errors import JobDeferredError, JobProcessingError, PermanentJobError
from jobctl.services.content.endpoint import Endpoint, EndpointSettings
from jobctl.services.content.images import generate_image
from jobctl.services.content.images_api import NAME, api_image, request_body
from jobctl.store.content_repo import ContentRepository

KEY = "sk-images-secret-7"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _png(width: int, height: int) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def images_server() -> Iterator[tuple[str, list[tuple[int, dict[str, str], Any]], list[dict[str, Any]]]]:
    replies: list[tuple[int, dict[str, str], Any]] = []
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
            status, headers, answer = (
                replies.pop(0) if replies else (200, {}, {"data": [{"b64_json": _png(64, 64)}]})
            )
            data = json.dumps(answer).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", replies, seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def _endpoint(url: str, **kw: Any) -> Endpoint:
    return Endpoint(
        EndpointSettings(url, KEY, key_setting="JOBCTL_IMAGE_API_KEY", **kw), "images", sleep=lambda s: None
    )


def test_the_inline_image_is_fitted_to_the_size_asked(
    images_server: Any, engine: Any, tmp_path: Path
) -> None:
    url, replies, seen = images_server
    replies.append((200, {}, {"data": [{"b64_json": _png(512, 512)}]}))
    endpoint = _endpoint(url)
    record = generate_image(
        ContentRepository(engine), "acme", "a lighthouse", "300x200", None,
        images_dir=tmp_path, now=lambda: NOW, provider=NAME,
        draw=lambda _o, p, w, h: api_image(endpoint, "dall-e-3", p, w, h),
    )  # fmt: skip
    with Image.open(record.path) as png:
        assert (png.format, png.size) == ("PNG", (300, 200)) and png.getpixel((150, 100)) == (200, 30, 30)
    assert (record.provider, record.width, record.height) == ("images-api", 300, 200)
    assert seen[0]["path"] == "/v1/images/generations" and seen[0]["auth"] == f"Bearer {KEY}"
    assert seen[0]["body"] == request_body("dall-e-3", "a lighthouse", 300, 200)
    assert seen[0]["body"]["response_format"] == "b64_json"
    assert "response_format" not in request_body("gpt-image-1", "x", 64, 64)


def test_429_past_the_deadline_defers(images_server: Any) -> None:
    url, replies, _seen = images_server
    replies.append((429, {"Retry-After": "900"}, {"error": "slow down"}))
    with pytest.raises(JobDeferredError) as info:
        api_image(_endpoint(url, total_timeout_s=10), "m", "p", 64, 64)
    assert info.value.retry_after_s == 900


def test_url_answers_and_non_images_are_refused(images_server: Any) -> None:
    url, replies, _seen = images_server
    replies.append((200, {}, {"data": [{"url": "http://169.254.169.254/latest"}]}))
    with pytest.raises(PermanentJobError, match="does not fetch image URLs"):
        api_image(_endpoint(url), "m", "p", 64, 64)
    replies.append((200, {}, {"data": [{"b64_json": base64.b64encode(b"not a png").decode()}]}))
    with pytest.raises(JobProcessingError, match="not an image"):
        api_image(_endpoint(url), "m", "p", 64, 64)
    replies.append((401, {}, {"error": f"bad key {KEY}"}))
    with pytest.raises(PermanentJobError, match="JOBCTL_IMAGE_API_KEY") as refused:
        api_image(_endpoint(url), "m", "p", 64, 64)
    assert KEY not in str(refused.value)
