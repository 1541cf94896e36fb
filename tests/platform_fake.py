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
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
    containers: dict[str, str] = field(default_factory=dict)  # Meta container id -> text
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

    def li_create(self, path: str, form: dict[str, Any], query: Any) -> None:
        if self.headers.get("X-Restli-Protocol-Version") != "2.0.0" or not self.headers.get(
            "LinkedIn-Version"
        ):
            self._send(400, {"status": 400, "message": "missing LinkedIn-Version"})
            return
        if (post_id := self._create("linkedin", form["commentary"])) is not None:
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
