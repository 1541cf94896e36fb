"""A real HTTP server on 127.0.0.1 that behaves like the five platforms' post endpoints.

One server answers every platform's paths (X /2/tweets, LinkedIn /rest/posts, Facebook
/{page}/feed, Instagram /{user}/media + media_publish, Threads /{user}/threads +
threads_publish) and their list endpoints, with the documented status codes, headers and bodies.
It checks the bearer token, counts the posts it accepted, and can be scripted for the next
create call: accept the post and then answer too late, or answer with a status, headers and body.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Scripted:
    """What the next create call does: `hang_s` > 0 accepts the post and answers that late;
    `status` answers with it (and `headers`, `body`) without accepting anything."""

    hang_s: float = 0.0
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass
class FakePlatforms:
    tokens: set[str]
    url: str = ""
    posts: list[dict[str, Any]] = field(default_factory=list)  # accepted: platform, id, text
    script: list[Scripted] = field(default_factory=list)
    seen: list[dict[str, Any]] = field(default_factory=list)  # every request: method, path, auth, query
    containers: dict[str, str] = field(default_factory=dict)  # Meta container id -> text
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))

    def count(self, platform: str | None = None) -> int:
        return len([p for p in self.posts if platform is None or p["platform"] == platform])


_ROUTES = (
    ("POST", re.compile(r"^/2/tweets$"), "x_create"),
    ("GET", re.compile(r"^/2/users/[^/]+/tweets$"), "x_list"),
    ("POST", re.compile(r"^/rest/posts$"), "li_create"),
    ("GET", re.compile(r"^/rest/posts$"), "li_list"),
    ("POST", re.compile(r"^/[^/]+/feed$"), "fb_create"),
    ("GET", re.compile(r"^/[^/]+/posts$"), "fb_list"),
    ("POST", re.compile(r"^/[^/]+/(media|threads)$"), "meta_container"),
    ("POST", re.compile(r"^/[^/]+/(media_publish|threads_publish)$"), "meta_publish"),
    ("GET", re.compile(r"^/[^/]+/(media|threads)$"), "meta_list"),
)


def _route(method: str, path: str) -> str | None:
    for verb, pattern, name in _ROUTES:
        if verb == method and pattern.match(path):
            return name
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: FakePlatforms  # set on the subclass serve() makes

    def log_message(self, fmt: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        try:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a scripted late answer): like a real server, carry on

    def _form(self) -> dict[str, Any]:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return dict(json.loads(raw or b"{}"))
        return {k: v[0] for k, v in parse_qs(raw.decode()).items()}

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        auth = self.headers.get("Authorization", "")
        self.state.seen.append({"method": method, "path": parts.path, "auth": auth, "query": parts.query})
        name = _route(method, parts.path)
        if name is None:
            self._send(404, {"error": {"message": f"no route {parts.path}"}})
            return
        form = self._form() if method == "POST" else {}
        if auth.removeprefix("Bearer ") not in self.state.tokens:
            self._unauthorized(name)
            return
        getattr(self, name)(parts.path, form, parse_qs(parts.query))

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _unauthorized(self, name: str) -> None:
        if name.startswith("x_"):
            self._send(
                401,
                {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
            )
        elif name.startswith("li_"):
            self._send(
                401,
                {
                    "status": 401,
                    "serviceErrorCode": 65601,
                    "code": "REVOKED_ACCESS_TOKEN",
                    "message": "The token used in the request has been revoked by the user",
                },
            )
        else:  # Meta answers an expired token with HTTP 400 and code 190
            self._send(
                400,
                {
                    "error": {
                        "message": "Error validating access token: Session has expired",
                        "type": "OAuthException",
                        "code": 190,
                        "error_subcode": 463,
                        "fbtrace_id": "Afake",
                    }
                },
            )

    def _create(self, platform: str, text: str) -> str | None:
        """Apply the script; the new post's id, or None when an answer was already sent."""
        with self.state.lock:
            step = self.state.script.pop(0) if self.state.script else Scripted()
            if step.status is not None:
                self._send(step.status, step.body, step.headers)
                return None
            post_id = str(next(self.state.ids))
            self.state.posts.append({"platform": platform, "id": post_id, "text": text})
        if step.hang_s:
            time.sleep(step.hang_s)  # accepted, but the answer comes too late
        return post_id

    def x_create(self, path: str, form: dict[str, Any], query: Any) -> None:
        if (post_id := self._create("twitter", form["text"])) is not None:
            self._send(
                201, {"data": {"id": post_id, "text": form["text"], "edit_history_tweet_ids": [post_id]}}
            )

    def x_list(self, path: str, form: Any, query: Any) -> None:
        data = [
            {"id": p["id"], "text": p["text"]}
            for p in reversed(self.state.posts)
            if p["platform"] == "twitter"
        ]
        self._send(200, {"data": data, "meta": {"result_count": len(data)}})

    def li_create(self, path: str, form: dict[str, Any], query: Any) -> None:
        if self.headers.get("X-Restli-Protocol-Version") != "2.0.0" or not self.headers.get(
            "LinkedIn-Version"
        ):
            self._send(400, {"status": 400, "message": "missing LinkedIn-Version"})
            return
        if (post_id := self._create("linkedin", form["commentary"])) is not None:
            self._send(201, None, {"x-restli-id": f"urn:li:share:{post_id}"})

    def li_list(self, path: str, form: Any, query: Any) -> None:
        data = [
            {"id": f"urn:li:share:{p['id']}", "commentary": p["text"]}
            for p in reversed(self.state.posts)
            if p["platform"] == "linkedin"
        ]
        self._send(200, {"elements": data, "paging": {"count": 10, "start": 0}})

    def fb_create(self, path: str, form: dict[str, Any], query: Any) -> None:
        page = path.split("/")[1]
        if (post_id := self._create("facebook", form["message"])) is not None:
            self._send(200, {"id": f"{page}_{post_id}"})

    def fb_list(self, path: str, form: Any, query: Any) -> None:
        page = path.split("/")[1]
        data = [
            {"id": f"{page}_{p['id']}", "message": p["text"]}
            for p in reversed(self.state.posts)
            if p["platform"] == "facebook"
        ]
        self._send(200, {"data": data})

    def meta_container(self, path: str, form: dict[str, Any], query: Any) -> None:
        kind = path.rsplit("/", 1)[1]
        text = form.get("caption") if kind == "media" else form.get("text")
        if kind == "media" and not form.get("image_url"):
            self._send(400, {"error": {"message": "The parameter image_url is required", "code": 100}})
            return
        container = f"c{next(self.state.ids)}"
        self.state.containers[container] = f"{kind}:{text}"
        self._send(200, {"id": container})

    def meta_publish(self, path: str, form: dict[str, Any], query: Any) -> None:
        kind, _, text = self.state.containers[form["creation_id"]].partition(":")
        platform = "instagram" if kind == "media" else "threads"
        if (post_id := self._create(platform, text)) is not None:
            self._send(200, {"id": post_id})

    def meta_list(self, path: str, form: Any, query: Any) -> None:
        kind = path.rsplit("/", 1)[1]
        platform, field_name = ("instagram", "caption") if kind == "media" else ("threads", "text")
        data = [
            {"id": p["id"], field_name: p["text"]}
            for p in reversed(self.state.posts)
            if p["platform"] == platform
        ]
        self._send(200, {"data": data})


@contextmanager
def serve(tokens: set[str]) -> Iterator[FakePlatforms]:
    state = FakePlatforms(tokens=set(tokens))
    handler = type("BoundHandler", (Handler,), {"state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
