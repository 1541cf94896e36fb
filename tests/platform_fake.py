"""A real HTTP server on 127.0.0.1 that behaves like the five platforms' post endpoints.

One server answers every platform's paths (X /2/tweets, LinkedIn /rest/posts, Facebook
/{page}/feed, Instagram /{user}/media + media_publish, Threads /{user}/threads +
threads_publish) and their list endpoints, with the documented status codes, headers and bodies.
It checks the bearer token, counts the posts it accepted, and can be scripted for the next
create call: accept the post and then answer too late, or answer with a status, headers and body.

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
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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
    containers: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # Meta container id -> kind, text, media
    uploads: list[dict[str, Any]] = field(default_factory=list)  # platform, id, mime, size, sha256, how
    container_states: list[str] = field(default_factory=list)  # the next container status answers
    pending: dict[str, str] = field(default_factory=dict)  # LinkedIn upload token -> image urn
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))

    def count(self, platform: str | None = None) -> int:
        return len([p for p in self.posts if platform is None or p["platform"] == platform])

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
        getattr(self, name)(parts.path, form, parse_qs(parts.query))

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

    def x_list(self, path: str, form: Any, query: Any) -> None:
        data = [
            {"id": p["id"], "text": p["text"]}
            for p in reversed(self.state.posts)
            if p["platform"] == "twitter"
        ]
        self._send(200, {"data": data, "meta": {"result_count": len(data)}})

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
        data = [
            {"id": f"{page}_{p['id']}", "message": p["text"]}
            for p in reversed(self.state.posts)
            if p["platform"] == "facebook"
        ]
        self._send(200, {"data": data})

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
