"""A real HTTP server on 127.0.0.1 that behaves like the platforms' token endpoints.

- `POST /2/oauth2/token` (X) and `POST /oauth/v2/accessToken` (LinkedIn): the RFC 6749 refresh
  grant. It knows the currently valid refresh token of each grant; every refresh rotates it
  (`rotate=True`, as X does) and a refresh token that is not current gets 400 invalid_grant,
  exactly like a single-use rotating refresh token. Client authentication (Basic or body) is
  recorded.
- `GET /oauth/access_token?grant_type=fb_exchange_token` (Facebook), `GET /refresh_access_token`
  with `ig_refresh_token` / `th_refresh_token` (Instagram Login, Threads): the long-lived token
  comes back renewed; a token that is not current gets Meta's code 190 error.

Script the next answers with `script` (status, headers, body, delay_s); `seen` records every
request (path, form, query, auth header) and `count()` counts token requests.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # None: the normal answer (after delay_s)
    delay_s: float = 0.0


@dataclass
class FakeTokens:
    refresh_tokens: set[str] = field(default_factory=set)  # currently valid refresh tokens
    access_tokens: set[str] = field(default_factory=set)  # currently valid long-lived (Meta) tokens
    rotate: bool = True
    expires_in: int = 7200
    delay_s: float = 0.0  # every answer waits this long (a slow endpoint; widens races)
    url: str = ""
    script: list[Answer] = field(default_factory=list)
    seen: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def count(self) -> int:
        return len(self.seen)

    def new_token(self, kind: str) -> str:
        return f"{kind}-{next(self.ids)}-SECRETVALUE"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: FakeTokens

    def log_message(self, fmt: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _handle(self, form: dict[str, str]) -> None:
        s = self.state
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        auth = self.headers.get("Authorization")
        with s.lock:
            s.seen.append(
                {"method": self.command, "path": parts.path, "form": form, "query": query, "auth": auth}
            )
            answer = s.script.pop(0) if s.script else None
        delay = (answer.delay_s if answer else 0.0) or s.delay_s
        if delay:
            time.sleep(delay)
        if answer is not None and answer.body is not None:
            return self._send(answer.status, answer.body, answer.headers)
        if self.command == "POST":
            return self._oauth2(form, auth)
        return self._meta(query)

    def _oauth2(self, form: dict[str, str], auth: str | None) -> None:
        s = self.state
        if form.get("grant_type") != "refresh_token":
            return self._send(400, {"error": "unsupported_grant_type"})
        if auth is None and "client_id" not in form:
            return self._send(
                401, {"error": "invalid_client", "error_description": "no client authentication"}
            )
        if auth is not None:
            base64.b64decode(auth.split(" ", 1)[1])  # a well-formed Basic header
        token = form.get("refresh_token", "")
        with s.lock:
            if token not in s.refresh_tokens:
                return self._send(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "Value passed for the token was invalid.",
                    },
                )
            new_refresh = token
            if s.rotate:
                s.refresh_tokens.discard(token)
                new_refresh = s.new_token("refresh")
                s.refresh_tokens.add(new_refresh)
        body = {
            "token_type": "bearer", "expires_in": s.expires_in, "access_token": s.new_token("access"),
            "scope": "tweet.read users.read offline.access", "refresh_token": new_refresh,
        }  # fmt: skip
        self._send(200, body)

    def _meta(self, query: dict[str, str]) -> None:
        s = self.state
        token = query.get("fb_exchange_token") or query.get("access_token", "")
        with s.lock:
            if token not in s.access_tokens:
                error = {"message": "Error validating access token: Session has expired",
                         "type": "OAuthException", "code": 190, "fbtrace_id": "A1"}  # fmt: skip
                return self._send(400, {"error": error})
            s.access_tokens.discard(token)
            new = s.new_token("longlived")
            s.access_tokens.add(new)
        self._send(200, {"access_token": new, "token_type": "bearer", "expires_in": 5183944})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        self._handle({k: v[0] for k, v in parse_qs(raw).items()})

    def do_GET(self) -> None:
        self._handle({})


@contextmanager
def serve(state: FakeTokens | None = None) -> Iterator[FakeTokens]:
    state = state or FakeTokens()
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
