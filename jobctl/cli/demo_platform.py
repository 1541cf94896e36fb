"""The demo's stand-in for one social platform: X's API v2, on 127.0.0.1, in a thread.

`jobctl demo` publishes, syncs analytics and refreshes a token against this instead of X, so it
never leaves the machine. It answers the calls jobctl's X client makes, as X documents them
(see jobctl.services.platforms.x and .oauth for the references):

- `POST /2/oauth2/token` (grant_type=refresh_token, a public client's `client_id`): the refresh
  token is single-use and rotates, as X's does; a stale one gets 400 invalid_grant.
- `POST /2/media/upload` (multipart `media`, `media_category=tweet_image`) -> `data.id`.
- `POST /2/tweets` (`text`, `media.media_ids`) -> 201 `data.id`.
- `GET /2/users/{id}/tweets` (`tweet.fields`, `start_time`, `max_results`, `pagination_token`):
  newest first, with `created_at`, `public_metrics` and `non_public_metrics`.

Bearer tokens are checked (401 otherwise); every access token it has issued stays valid until
the demo ends. The account's history is seeded with `HISTORY` earlier posts, morning ones
engaging about four times better than evening ones, so brand learning has something to find.
Secrets are never logged: the handler logs nothing. Kept small on purpose: tests/platform_fake.py
is the full fake of all five platforms.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HISTORY = 24  # seeded posts: 12 mornings and 12 evenings over the last 12 days
CLIENT_ID = "jobctl-demo"


@dataclass
class PlatformState:
    """What the stand-in knows and did: tokens, posts, uploads, token refreshes."""

    user_id: str
    access_tokens: set[str] = field(default_factory=set)
    refresh_token: str = ""
    posts: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    uploads: dict[str, int] = field(default_factory=dict)  # media id -> bytes
    refreshes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_860_000_000_000_000_000))

    def seed(self, now: datetime) -> None:
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        for i in range(HISTORY):
            morning = i % 2 == 0
            at = day - timedelta(days=HISTORY // 2 - i // 2, hours=-9 if morning else -18)
            likes = (55 if morning else 12) + i % 7
            metrics = {"impressions": 1000 + 10 * i, "likes": likes, "replies": 3, "reposts": 2, "clicks": 4}
            self.add_post(f"Demo history post {i + 1}", at, metrics)

    def add_post(self, text: str, at: datetime, metrics: dict[str, int] | None = None) -> str:
        with self.lock:
            post_id = str(next(self.ids))
            counts = metrics or {"impressions": 0, "likes": 0, "replies": 0, "reposts": 0, "clicks": 0}
            self.posts.append({"id": post_id, "text": text, "created": at, "metrics": counts})
        return post_id

    def published(self) -> list[dict[str, Any]]:
        """The posts made through the API (not the seeded history)."""
        return [p for p in self.posts if not p["text"].startswith("Demo history post")]


def _tweet(post: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    m = post["metrics"]
    out: dict[str, Any] = {"id": post["id"], "text": post["text"], "edit_history_tweet_ids": [post["id"]]}
    if "created_at" in fields:
        out["created_at"] = post["created"].strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if "public_metrics" in fields:
        out["public_metrics"] = {
            "retweet_count": m["reposts"], "reply_count": m["replies"], "like_count": m["likes"],
            "quote_count": 0, "bookmark_count": 0, "impression_count": m["impressions"],
        }  # fmt: skip
    if "non_public_metrics" in fields:
        out["non_public_metrics"] = {
            "impression_count": m["impressions"], "url_link_clicks": m["clicks"], "user_profile_clicks": 0
        }  # fmt: skip
    return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: PlatformState  # set on the subclass DemoPlatform makes

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet, and never a token in a log

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _authorized(self) -> bool:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in self.state.access_tokens:
            return True
        self._send(
            401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
        )
        return False

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        raw = self._body()
        if path == "/2/oauth2/token":
            self._token({k: v[0] for k, v in parse_qs(raw.decode()).items()})
        elif path == "/2/media/upload" and self._authorized():
            self._upload(raw)
        elif path == "/2/tweets" and self._authorized():
            self._create(json.loads(raw or b"{}"))
        elif path not in ("/2/media/upload", "/2/tweets"):
            self._send(404, {"title": "Not Found", "detail": f"no route {path}"})

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        segments = parts.path.strip("/").split("/")
        if len(segments) != 4 or segments[:2] != ["2", "users"] or segments[3] != "tweets":
            self._send(404, {"title": "Not Found", "detail": f"no route {parts.path}"})
        elif self._authorized():
            self._list(segments[2], {k: v[0] for k, v in parse_qs(parts.query).items()})

    def _token(self, form: dict[str, str]) -> None:
        s = self.state
        if form.get("grant_type") != "refresh_token":
            return self._send(400, {"error": "unsupported_grant_type"})
        if form.get("client_id") != CLIENT_ID and "Authorization" not in self.headers:
            return self._send(401, {"error": "invalid_client"})
        with s.lock:
            if not secrets.compare_digest(form.get("refresh_token", ""), s.refresh_token):
                return self._send(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "Value passed for the token was invalid.",
                    },
                )
            s.refresh_token = "demo-refresh-" + secrets.token_urlsafe(16)  # single use: rotated
            access = "demo-access-" + secrets.token_urlsafe(16)
            s.access_tokens.add(access)
            s.refreshes += 1
            body = {"token_type": "bearer", "expires_in": 7200, "access_token": access,
                    "scope": "tweet.read tweet.write users.read offline.access media.write",
                    "refresh_token": s.refresh_token}  # fmt: skip
        self._send(200, body)

    def _upload(self, raw: bytes) -> None:
        ctype = self.headers.get("Content-Type", "")
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + raw)
        parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
        media = parts.get("media")
        data = media.get_payload(decode=True) if media is not None else None
        if not isinstance(data, bytes) or not data:
            return self._send(400, {"errors": [{"message": "The `media` field is required."}]})
        with self.state.lock:
            media_id = str(next(self.state.ids))
            self.state.uploads[media_id] = len(data)
        self._send(200, {"data": {"id": media_id, "media_key": f"3_{media_id}", "size": len(data),
                                  "expires_after_secs": 86400}})  # fmt: skip

    def _create(self, form: dict[str, Any]) -> None:
        media_ids = list((form.get("media") or {}).get("media_ids") or [])
        if any(m not in self.state.uploads for m in media_ids):
            return self._send(400, {"errors": [{"message": "Your media IDs are invalid."}]})
        text = str(form.get("text") or "")
        post_id = self.state.add_post(text, datetime.now(UTC))
        self._send(201, {"data": {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}})

    def _list(self, user_id: str, query: dict[str, str]) -> None:
        since = query.get("start_time")
        start = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else None
        with self.state.lock:
            posts = [p for p in reversed(self.state.posts) if start is None or p["created"] >= start]
        if user_id != self.state.user_id:
            posts = []
        size = max(5, min(100, int(query.get("max_results", "10"))))
        offset = int(query.get("pagination_token") or 0)
        page = posts[offset : offset + size]
        fields = query.get("tweet.fields", "").split(",")
        meta: dict[str, Any] = {"result_count": len(page)}
        if offset + size < len(posts):
            meta["next_token"] = str(offset + size)
        self._send(200, {"data": [_tweet(p, fields) for p in page], "meta": meta})


class DemoPlatform:
    """The stand-in, serving on a free 127.0.0.1 port until `stop()`. Its first tokens are made
    here (random, never printed) and handed to the account the demo adds."""

    def __init__(self, user_id: str = "1585012345678901234") -> None:
        self.access_token = "demo-access-" + secrets.token_urlsafe(16)
        self.state = PlatformState(user_id, {self.access_token}, "demo-refresh-" + secrets.token_urlsafe(16))
        self.first_refresh_token = self.state.refresh_token
        self.state.seed(datetime.now(UTC))
        handler = type("DemoPlatformHandler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def token_url(self) -> str:
        return f"{self.url}/2/oauth2/token"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
