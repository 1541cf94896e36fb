"""A real HTTP server on 127.0.0.1 that behaves like the five platforms' post endpoints.

One server answers every platform's paths (X /2/tweets, LinkedIn /rest/posts, Facebook
/{page}/feed, Instagram /{user}/media + media_publish, Threads /{user}/threads +
threads_publish) and their list endpoints, with the documented status codes, headers and bodies.
It checks the bearer token, counts the posts it accepted, and can be scripted for the next
create call: accept the post and then answer too late, or answer with a status, headers and body.

Metrics (issue 13): `seed(platform, owner, n)` adds published posts with deterministic counts
(post i of a seed: impressions 1000 + 10 i, reach 800 + 5 i, likes 10 + i, comments 2, shares 1,
saves 1, clicks 3), which the list endpoints page through (X `pagination_token`, LinkedIn
`start`/`count`, Meta `after` cursors) in each platform's own field names, and the metrics
endpoints answer (LinkedIn organizationalEntityShareStatistics / memberCreatorPostAnalytics,
Meta `/{id}/insights`). `script_metrics(step, owner=...)` scripts the next GET of one account
(or of anyone): a status with headers and body (429 with Retry-After, 401, 500), or a slow
answer (`hang_s`, then the normal answer).

Media, as the documented flows go (see jobctl.services.platforms.* for the references):
- X `POST /2/media/upload` (multipart `media`, `media_category`), then `media.media_ids` on
  /2/tweets (unknown ids: 400 "Your media IDs are invalid.");
- LinkedIn `POST /rest/images?action=initializeUpload` -> an uploadUrl on this server
  (`PUT /dms-uploads/...`, 201), then `content.media.id` on /rest/posts (an image whose bytes
  never arrived: 400);
- Facebook `POST /{page}/photos` (multipart `source` or `url`, `caption`) -> `{"id", "post_id"}`;
- Instagram / Threads containers with `image_url`: the fake *fetches* the URL, as Meta does
  (unreachable: 400 code 9004 "Media download has failed"; Instagram wants JPEG), answers
  `GET /{container}` with its status (scriptable via `container_states`), and publishes it.
Every upload is kept in `uploads` (platform, id, mime, size, sha256, how) and each post names
the uploads it carries in `media`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SEED_START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


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
    containers: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # Meta container id -> kind, text, media
    uploads: list[dict[str, Any]] = field(default_factory=list)  # platform, id, mime, size, sha256, how
    container_states: list[str] = field(default_factory=list)  # the next container status answers
    pending: dict[str, str] = field(default_factory=dict)  # LinkedIn upload token -> image urn
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))
    # metrics GETs: owner (external id, "" for anyone) -> the scripted answers of its next GETs
    metrics_script: dict[str, list[Scripted]] = field(default_factory=dict)
    seeded: dict[str, dict[str, Any]] = field(default_factory=dict)  # seeded post id -> post

    def count(self, platform: str | None = None) -> int:
        return len([p for p in self.posts if platform is None or p["platform"] == platform])

    def seed(
        self,
        platform: str,
        owner: str,
        n: int,
        *,
        start: datetime = SEED_START,
        every: timedelta = timedelta(hours=5),
    ) -> list[str]:
        """`n` published posts of `owner` on `platform` (oldest first), with counts; their ids."""
        ids = []
        with self.lock:
            for i in range(n):
                raw = str(next(self.ids))
                post_id = {"linkedin": f"urn:li:share:{raw}", "facebook": f"{owner}_{raw}"}.get(platform, raw)
                metrics = {"impressions": 1000 + 10 * i, "reach": 800 + 5 * i, "likes": 10 + i,
                           "comments": 2, "shares": 1, "saves": 1, "clicks": 3}  # fmt: skip
                self.posts.append({"platform": platform, "id": post_id, "text": f"post {raw}", "owner": owner,
                                   "created": start + i * every, "metrics": metrics})  # fmt: skip
                self.seeded[post_id] = self.posts[-1]
                ids.append(post_id)
        return ids

    def script_metrics(self, step: Scripted, owner: str = "") -> None:
        with self.lock:
            self.metrics_script.setdefault(owner, []).append(step)

    def metrics_requests(self, owner: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.seen
            if r["method"] == "GET" and (owner is None or owner in r["path"] + r["query"])
        ]

    def upload(self, upload_id: str) -> dict[str, Any]:
        return next(u for u in self.uploads if u["id"] == upload_id)


X_MAX_IMAGE = 5 * 1024 * 1024


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


_ROUTES = (
    ("POST", re.compile(r"^/2/media/upload$"), "x_media"),
    ("POST", re.compile(r"^/rest/images$"), "li_init_upload"),
    ("PUT", re.compile(r"^/dms-uploads/"), "li_put_upload"),
    ("POST", re.compile(r"^/[^/]+/photos$"), "fb_photo"),
    ("GET", re.compile(r"^/\d+$"), "meta_status"),
    ("POST", re.compile(r"^/2/tweets$"), "x_create"),
    ("GET", re.compile(r"^/2/users/[^/]+/tweets$"), "x_list"),
    ("POST", re.compile(r"^/rest/posts$"), "li_create"),
    ("GET", re.compile(r"^/rest/posts$"), "li_list"),
    ("POST", re.compile(r"^/[^/]+/feed$"), "fb_create"),
    ("GET", re.compile(r"^/[^/]+/posts$"), "fb_list"),
    ("POST", re.compile(r"^/[^/]+/(media|threads)$"), "meta_container"),
    ("POST", re.compile(r"^/[^/]+/(media_publish|threads_publish)$"), "meta_publish"),
    ("GET", re.compile(r"^/[^/]+/(media|threads)$"), "meta_list"),
    ("GET", re.compile(r"^/rest/organizationalEntityShareStatistics$"), "li_org_stats"),
    ("GET", re.compile(r"^/rest/memberCreatorPostAnalytics$"), "li_member_stats"),
    ("GET", re.compile(r"^/[^/]+/insights$"), "meta_insights"),
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
        """The body's fields: JSON, urlencoded, or multipart (a file part becomes a dict with
        filename, content_type and data); a PUT's raw bytes under "_raw"."""
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ctype = self.headers.get("Content-Type", "")
        if self.command == "PUT":
            return {"_raw": raw}
        if ctype.startswith("application/json"):
            return dict(json.loads(raw or b"{}"))
        if ctype.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + raw)
            form: dict[str, Any] = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                data = part.get_payload(decode=True) or b""
                if part.get_filename() is None:
                    form[str(name)] = data.decode()
                else:
                    form[str(name)] = {"filename": part.get_filename(), "data": data,
                                       "content_type": part.get_content_type()}  # fmt: skip
            return form
        return {k: v[0] for k, v in parse_qs(raw.decode()).items()}

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        auth = self.headers.get("Authorization", "")
        self.state.seen.append({"method": method, "path": parts.path, "auth": auth, "query": parts.query})
        name = _route(method, parts.path)
        if name is None:
            self._send(404, {"error": {"message": f"no route {parts.path}"}})
            return
        form = self._form() if method in ("POST", "PUT") else {}
        if auth.removeprefix("Bearer ") not in self.state.tokens:
            self._unauthorized(name)
            return
        if method == "GET" and self._scripted(parts.path + "?" + unquote(parts.query)):
            return
        getattr(self, name)(parts.path, form, parse_qs(parts.query))

    def _scripted(self, where: str) -> bool:
        """Apply the next scripted metrics answer of the owner named in the request (or anyone's);
        True when it was sent instead of the normal answer."""
        with self.state.lock:
            step = None
            for owner, steps in self.state.metrics_script.items():
                if steps and (owner == "" or owner in where or self._owns(owner, where)):
                    step = steps.pop(0)
                    break
        if step is None:
            return False
        if step.status is not None:
            self._send(step.status, step.body, step.headers)
            return True
        time.sleep(step.hang_s)  # a slow answer, then the normal one
        return False

    def _owns(self, owner: str, where: str) -> bool:
        """Whether a per-post request (`/{post-id}/insights`, a LinkedIn statistics query) is
        about one of `owner`'s posts."""
        return any(p.get("owner") == owner and p["id"] in where for p in self.state.posts)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

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

    def _create(self, platform: str, text: str, media: list[str] | None = None) -> str | None:
        """Apply the script; the new post's id, or None when an answer was already sent."""
        with self.state.lock:
            step = self.state.script.pop(0) if self.state.script else Scripted()
            if step.status is not None:
                self._send(step.status, step.body, step.headers)
                return None
            post_id = str(next(self.state.ids))
            self.state.posts.append({"platform": platform, "id": post_id, "text": text, "media": media or []})
        if step.hang_s:
            time.sleep(step.hang_s)  # accepted, but the answer comes too late
        return post_id

    def _record(self, platform: str, data: bytes, how: str, **extra: Any) -> dict[str, Any]:
        upload = {
            "platform": platform, "id": str(next(self.state.ids)), "mime": _sniff(data), "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "how": how, **extra,
        }  # fmt: skip
        self.state.uploads.append(upload)
        return upload

    def _fetch(self, url: str) -> bytes | None:
        """Download `url` as Meta's servers do (None: it could not be fetched)."""
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return bytes(answer.read())
        except (OSError, ValueError):
            return None

    def _meta_error(self, message: str, code: int, subcode: int | None = None) -> None:
        error: dict[str, Any] = {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "Afake",
        }
        if subcode is not None:
            error["error_subcode"] = subcode
        self._send(400, {"error": error})

    def _x_invalid(self, message: str) -> None:
        self._send(400, {"errors": [{"message": message}], "title": "Invalid Request",
                         "detail": "One or more parameters to your request was invalid.",
                         "type": "https://api.twitter.com/2/problems/invalid-request"})  # fmt: skip

    def x_media(self, path: str, form: dict[str, Any], query: Any) -> None:
        media = form.get("media")
        if not isinstance(media, dict) or not media["data"]:
            self._x_invalid("The `media` field is required.")
            return
        if form.get("media_category") not in ("tweet_image", "dm_image", "subtitles"):
            self._x_invalid("The `media_category` field must be tweet_image, dm_image or subtitles.")
            return
        mime = _sniff(media["data"])
        if mime is None:
            self._x_invalid("Unsupported media type.")
            return
        if len(media["data"]) > X_MAX_IMAGE:
            self._x_invalid(f"File size exceeds {X_MAX_IMAGE} bytes.")
            return
        upload = self._record("twitter", media["data"], "bytes", category=form["media_category"])
        data = {"id": upload["id"], "media_key": f"3_{upload['id']}", "size": upload["size"],
                "expires_after_secs": 86400, "image": {"image_type": mime}}  # fmt: skip
        self._send(200, {"data": data})

    def x_create(self, path: str, form: dict[str, Any], query: Any) -> None:
        media_ids = list((form.get("media") or {}).get("media_ids") or [])
        known = {u["id"] for u in self.state.uploads if u["platform"] == "twitter"}
        if any(m not in known for m in media_ids):
            self._x_invalid("Your media IDs are invalid.")
            return
        if (post_id := self._create("twitter", form["text"], media_ids)) is not None:
            self._send(
                201, {"data": {"id": post_id, "text": form["text"], "edit_history_tweet_ids": [post_id]}}
            )

    def _listed(
        self, platform: str, owner: str | None, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        """`owner`'s posts on `platform`, newest first (posts without an owner are anyone's)."""
        return [
            p for p in reversed(self.state.posts)
            if p["platform"] == platform and p.get("owner") in (None, owner)
            and (since is None or p.get("created") is None or p["created"] >= since)
        ]  # fmt: skip

    @staticmethod
    def _page(
        posts: list[dict[str, Any]], offset: str | None, size: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        start = int(offset or 0)
        page = posts[start : start + size]
        return page, (str(start + size) if start + size < len(posts) else None)

    def x_list(self, path: str, form: Any, query: Any) -> None:
        owner = path.split("/")[3]
        since = _iso(query["start_time"][0]) if "start_time" in query else None
        posts = self._listed("twitter", owner, since)
        if "tweet.fields" not in query:  # publish's look-up
            data = [{"id": p["id"], "text": p["text"]} for p in posts]
            self._send(200, {"data": data, "meta": {"result_count": len(data)}})
            return
        size = int(query.get("max_results", ["10"])[0])
        page, token = self._page(posts, query.get("pagination_token", [None])[0], size)
        wanted = query["tweet.fields"][0].split(",")
        data = []
        for p in page:
            m = p.get("metrics") or {}
            post = {
                "id": p["id"], "text": p["text"], "edit_history_tweet_ids": [p["id"]],
                "created_at": _x_time(p.get("created")),
                "public_metrics": {"retweet_count": m.get("shares", 0), "reply_count": m.get("comments", 0),
                                   "like_count": m.get("likes", 0), "quote_count": 0,
                                   "bookmark_count": m.get("saves", 0),
                                   "impression_count": m.get("impressions", 0)},
                "non_public_metrics": {"impression_count": m.get("impressions", 0),
                                       "url_link_clicks": m.get("clicks", 0), "user_profile_clicks": 0},
            }  # fmt: skip
            data.append(
                {k: v for k, v in post.items() if k in ("id", "text", "edit_history_tweet_ids", *wanted)}
            )
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta.update(newest_id=data[0]["id"], oldest_id=data[-1]["id"])
        if token:
            meta["next_token"] = token
        self._send(200, {"data": data, "meta": meta},
                   {"x-rate-limit-limit": "900", "x-rate-limit-remaining": "899",
                    "x-rate-limit-reset": str(int(time.time()) + 900)})  # fmt: skip

    def _li_headers_ok(self) -> bool:
        if self.headers.get("X-Restli-Protocol-Version") != "2.0.0" or not self.headers.get(
            "LinkedIn-Version"
        ):
            self._send(400, {"status": 400, "message": "missing LinkedIn-Version"})
            return False
        return True

    def li_init_upload(self, path: str, form: dict[str, Any], query: dict[str, list[str]]) -> None:
        if not self._li_headers_ok():
            return
        owner = (form.get("initializeUploadRequest") or {}).get("owner")
        if query.get("action") != ["initializeUpload"] or not owner:
            self._send(400, {"status": 400, "message": "initializeUploadRequest.owner is required"})
            return
        token = f"t{next(self.state.ids)}"
        image = f"urn:li:image:D4E10AQ{token}"
        self.state.pending[token] = image
        upload_url = f"{self.state.url}/dms-uploads/sp/{token}/uploaded-image/0?ca=vector_feedshare&ut=SIGNED"
        expires = int(time.time() * 1000) + 86_400_000
        self._send(200, {"value": {"uploadUrlExpiresAt": expires, "uploadUrl": upload_url, "image": image}})

    def li_put_upload(self, path: str, form: dict[str, Any], query: Any) -> None:
        token = path.split("/")[3]
        image = self.state.pending.pop(token, None)
        if image is None or not form["_raw"]:
            self._send(400, {"status": 400, "message": "unknown or used upload URL"})
            return
        self._record("linkedin", form["_raw"], "bytes", urn=image,
                     content_type=self.headers.get("Content-Type"))  # fmt: skip
        self._send(201)

    def li_create(self, path: str, form: dict[str, Any], query: Any) -> None:
        if not self._li_headers_ok():
            return
        image = ((form.get("content") or {}).get("media") or {}).get("id")
        media: list[str] = []
        if image is not None:
            upload = next((u for u in self.state.uploads if u.get("urn") == image), None)
            if upload is None:
                message = f"/content/media/id :: {image} does not exist or its upload has not finished"
                self._send(400, {"status": 400, "serviceErrorCode": 100, "message": message})
                return
            media = [upload["id"]]
        if (post_id := self._create("linkedin", form["commentary"], media)) is not None:
            self._send(201, None, {"x-restli-id": f"urn:li:share:{post_id}"})

    def li_list(self, path: str, form: Any, query: Any) -> None:
        author = query.get("author", [None])[0]
        posts = self._listed("linkedin", author)
        size = int(query.get("count", ["10"])[0])
        start = int(query.get("start", ["0"])[0])
        data = [
            {"id": p["id"] if p.get("owner") else f"urn:li:share:{p['id']}", "commentary": p["text"],
             "author": author, "lifecycleState": "PUBLISHED",
             **({"publishedAt": int(p["created"].timestamp() * 1000)} if p.get("created") else {})}
            for p in posts[start : start + size]
        ]  # fmt: skip
        self._send(200, {"elements": data, "paging": {"count": size, "start": start, "links": []}})

    def _li_post(self, urn: str) -> dict[str, Any] | None:
        post = self.state.seeded.get(urn)
        return post if post is not None and post["platform"] == "linkedin" else None

    def li_org_stats(self, path: str, form: Any, query: Any) -> None:
        if (
            query.get("q") != ["organizationalEntity"]
            or self.headers.get("X-Restli-Protocol-Version") != "2.0.0"
        ):
            self._send(400, {"status": 400, "message": "q=organizationalEntity and Rest.li 2.0 required"})
            return
        elements = []
        for key, single in (("shares", "share"), ("ugcPosts", "ugcPost")):
            raw = query.get(key, [""])[0]
            if not raw.startswith("List(") or not raw.endswith(")"):
                continue
            for urn in (unquote(u) for u in raw[5:-1].split(",") if u):
                post = self._li_post(urn)
                if post is None:
                    continue
                m = post["metrics"]
                elements.append({
                    single: urn, "organizationalEntity": query["organizationalEntity"][0],
                    "totalShareStatistics": {
                        "uniqueImpressionsCount": m["reach"], "shareCount": m["shares"],
                        "engagement": 0.01, "clickCount": m["clicks"], "likeCount": m["likes"],
                        "impressionCount": m["impressions"], "commentCount": m["comments"],
                    },
                })  # fmt: skip
        self._send(200, {"elements": elements, "paging": {"count": 10, "start": 0, "links": []}})

    def li_member_stats(self, path: str, form: Any, query: Any) -> None:
        entity = query.get("entity", [""])[0]  # (share:urn%3Ali%3Ashare%3A1) - parse_qs decoded it
        match = re.fullmatch(r"\((share|ugc):(.+)\)", entity)
        post = self._li_post(match.group(2)) if match else None
        kind = query.get("queryType", [""])[0]
        names = {"IMPRESSION": "impressions", "MEMBERS_REACHED": "reach", "REACTION": "likes",
                 "COMMENT": "comments", "RESHARE": "shares"}  # fmt: skip
        if post is None or kind not in names or query.get("aggregation") != ["TOTAL"]:
            self._send(400, {"status": 400, "message": f"bad entity or queryType: {entity} {kind}"})
            return
        metric_type = {
            "com.linkedin.adsexternalapi.memberanalytics.v1.CreatorPostAnalyticsMetricTypeV1": kind
        }
        self._send(200, {"elements": [{"count": post["metrics"][names[kind]], "metricType": metric_type}]})

    def fb_create(self, path: str, form: dict[str, Any], query: Any) -> None:
        page = path.split("/")[1]
        if (post_id := self._create("facebook", form["message"])) is not None:
            self._send(200, {"id": f"{page}_{post_id}"})

    def fb_photo(self, path: str, form: dict[str, Any], query: Any) -> None:
        page = path.split("/")[1]
        source = form.get("source")
        if isinstance(source, dict) and source["data"]:
            data, how = source["data"], "bytes"
        elif form.get("url"):
            data, how = self._fetch(form["url"]) or b"", "url"
        else:
            self._meta_error("(#324) Requires upload file", 324)
            return
        if _sniff(data) is None:
            self._meta_error("(#324) Missing or invalid image file", 324)
            return
        upload = self._record("facebook", data, how)
        if (post_id := self._create("facebook", form.get("caption") or "", [upload["id"]])) is not None:
            self._send(200, {"id": upload["id"], "post_id": f"{page}_{post_id}"})

    def fb_list(self, path: str, form: Any, query: Any) -> None:
        page = path.split("/")[1]
        fields = query.get("fields", [""])[0]
        if "insights" not in fields:  # publish's look-up
            data = [{"id": f"{page}_{p['id']}", "message": p["text"]} for p in self._listed("facebook", page)]
            self._send(200, {"data": data})
            return
        posts, after = self._meta_page("facebook", page, query)
        data = []
        for p in posts:
            m = p["metrics"]
            data.append({
                "id": p["id"], "created_time": _meta_time(p.get("created")), "shares": {"count": m["shares"]},
                "comments": {"data": [], "summary": {"order": "ranked", "total_count": m["comments"]}},
                "reactions": {"data": [], "summary": {"total_count": m["likes"]}},
                "insights": {"data": [
                    _insight(p["id"], "post_impressions", m["impressions"]),
                    _insight(p["id"], "post_impressions_unique", m["reach"]),
                    _insight(p["id"], "post_clicks", m["clicks"]),
                ]},
            })  # fmt: skip
        self._send(200, _meta_paged(data, after))

    def _meta_page(self, platform: str, owner: str, query: Any) -> tuple[list[dict[str, Any]], str | None]:
        since = datetime.fromtimestamp(int(query["since"][0]), UTC) if "since" in query else None
        posts = [p for p in self._listed(platform, owner, since) if p.get("owner")]
        return self._page(posts, query.get("after", [None])[0], int(query.get("limit", ["25"])[0]))

    def meta_container(self, path: str, form: dict[str, Any], query: Any) -> None:
        kind = path.rsplit("/", 1)[1]
        platform = "instagram" if kind == "media" else "threads"
        text = form.get("caption") if kind == "media" else form.get("text")
        if kind == "media" and not form.get("image_url"):
            self._meta_error("The parameter image_url is required", 100)
            return
        media: list[str] = []
        if form.get("image_url") and (kind == "media" or form.get("media_type") == "IMAGE"):
            data = self._fetch(form["image_url"])
            if data is None:
                failed = "Media download has failed.: The media could not be fetched from the URI provided."
                self._meta_error(failed, 9004, 2207052)
                return
            wanted = {"image/jpeg"} if kind == "media" else {"image/jpeg", "image/png"}
            if _sniff(data) not in wanted:
                self._meta_error("The image format is not supported.", 9004, 2207083)
                return
            media = [self._record(platform, data, "url", url=form["image_url"])["id"]]
        container = str(next(self.state.ids))
        self.state.containers[container] = {"kind": kind, "text": text, "media": media}
        self._send(200, {"id": container})

    def meta_status(self, path: str, form: Any, query: dict[str, list[str]]) -> None:
        container = self.state.containers.get(path.strip("/"))
        if container is None:
            self._meta_error(
                f"Unsupported get request. Object with ID '{path.strip('/')}' does not exist", 100, 33
            )
            return
        status = self.state.container_states.pop(0) if self.state.container_states else "FINISHED"
        fields = (query.get("fields") or [""])[0].split(",")
        if container["kind"] == "media":
            self._send(200, {"id": path.strip("/"), "status_code": status,
                             "status": "Finished: Media has been uploaded and it is ready to be published."
                             if status == "FINISHED" else status.title()})  # fmt: skip
        else:
            answer: dict[str, Any] = {"id": path.strip("/"), "status": status}
            if "error_message" in fields and status == "ERROR":
                answer["error_message"] = "FAILED_PROCESSING_IMAGE"
            self._send(200, answer)

    def meta_publish(self, path: str, form: dict[str, Any], query: Any) -> None:
        container = self.state.containers[form["creation_id"]]
        platform = "instagram" if container["kind"] == "media" else "threads"
        if (post_id := self._create(platform, container["text"], container["media"])) is not None:
            self._send(200, {"id": post_id})

    def meta_list(self, path: str, form: Any, query: Any) -> None:
        user, kind = path.split("/")[1:3]
        platform, field_name = ("instagram", "caption") if kind == "media" else ("threads", "text")
        if "timestamp" not in query.get("fields", [""])[0]:  # publish's look-up
            data = [{"id": p["id"], field_name: p["text"]} for p in self._listed(platform, user)]
            self._send(200, {"data": data})
            return
        posts, after = self._meta_page(platform, user, query)
        data = [{"id": p["id"], "timestamp": _meta_time(p.get("created")),
                 **({"like_count": p["metrics"]["likes"], "comments_count": p["metrics"]["comments"]}
                    if platform == "instagram" else {})} for p in posts]  # fmt: skip
        self._send(200, _meta_paged(data, after))

    def meta_insights(self, path: str, form: Any, query: Any) -> None:
        media_id = path.split("/")[1]
        post = self.state.seeded.get(media_id)
        if post is None:
            self._send(400, {"error": {"message": "Unsupported get request.", "type": "GraphMethodException",
                                       "code": 100, "fbtrace_id": "Afake"}})  # fmt: skip
            return
        m = post["metrics"]
        if post["platform"] == "instagram":
            values = {"reach": m["reach"], "likes": m["likes"], "comments": m["comments"],
                      "shares": m["shares"], "saved": m["saves"], "views": m["impressions"]}  # fmt: skip
        else:
            values = {"views": m["impressions"], "likes": m["likes"], "replies": m["comments"],
                      "reposts": m["shares"], "quotes": 0, "shares": 0}  # fmt: skip
        wanted = query.get("metric", [""])[0].split(",")
        unknown = [w for w in wanted if w not in values]
        if unknown:
            self._send(400, {"error": {"message": f"(#100) metric[0] must be one of ...: {unknown[0]}",
                                       "type": "OAuthException", "code": 100}})  # fmt: skip
            return
        self._send(200, {"data": [_insight(media_id, w, values[w]) for w in wanted]})


def _insight(object_id: str, name: str, value: int) -> dict[str, Any]:
    return {"name": name, "period": "lifetime", "values": [{"value": value}], "title": name,
            "description": name, "id": f"{object_id}/insights/{name}/lifetime"}  # fmt: skip


def _meta_paged(data: list[dict[str, Any]], after: str | None) -> dict[str, Any]:
    paging: dict[str, Any] = {"cursors": {"before": "0", "after": after or ""}}
    if after:
        paging["next"] = f"https://graph.example/next?after={after}"
    return {"data": data, "paging": paging}


def _x_time(when: datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z") if when else None


def _meta_time(when: datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%S+0000") if when else None


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


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


@contextmanager
def serve_files(root: Path) -> Iterator[str]:
    """A quiet static HTTP server over `root` on 127.0.0.1: the "public" media URL that
    Instagram and Threads fetch images from. Yields its base URL."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
