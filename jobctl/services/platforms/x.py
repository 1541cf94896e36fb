"""X (Twitter) API v2.

- Publish: `POST /2/tweets` with `{"text": ...}` and an OAuth 2.0 user-context bearer token
  (scopes tweet.write, tweet.read, users.read); the answer is 201 `{"data": {"id", "text"}}`.
  https://docs.x.com/x-api/posts/manage-tweets/introduction
- Look-up: `GET /2/users/{id}/tweets?max_results=N` -> `{"data": [{"id", "text"}], "meta"}`.
- Errors are RFC 7807-style problems: `{"title", "detail", "type"}` (or `{"errors": [...]}`);
  a duplicate post is a 403 "You are not allowed to create a Tweet with duplicate content."
- Rate limits: 429 with `x-rate-limit-reset` (Unix seconds; X sends no Retry-After).
  https://docs.x.com/x-api/fundamentals/rate-limits
- Media (publish_media; the token also needs the media.write scope): a one-shot
  `POST /2/media/upload` (multipart/form-data: `media` = the file's bytes,
  `media_category=tweet_image`, `media_type`), answered `{"data": {"id", "media_key", "size",
  "expires_after_secs"}}`; then `POST /2/tweets` with `{"text", "media": {"media_ids": [id]}}`.
  Images (<= 5 MB) need no chunked initialize/append/finalize session (that is for video and
  GIFs) and no processing wait; a `processing_info.state` of "failed" is a rejection.
  https://docs.x.com/x-api/media/upload-media, https://docs.x.com/x-api/media/quickstart/best-practices
  An upload whose post is then lost is harmless: an unattached media id expires by itself.

X has no idempotency key, so the publish service looks recent posts up before posting again.
Base URL default: https://api.x.com.
"""

from __future__ import annotations

from typing import Any, ClassVar

from jobctl.services.platforms.base import ContentRejected, PlatformClient, PlatformUnavailable, same_text
from jobctl.services.platforms.media import MediaFile

DEFAULT_BASE_URL = "https://api.x.com"
LOOKUP_COUNT = 20


class XClient(PlatformClient):
    platform: ClassVar[str] = "twitter"

    def publish(self, text: str, image_url: str | None = None) -> str:
        # Media upload (the v2 media endpoint) is not done: an image is left out, the text goes.
        body = self.json(self.request("POST", "/2/tweets", json={"text": text}))
        post_id = (body.get("data") or {}).get("id") if isinstance(body, dict) else None
        if not isinstance(post_id, str):
            raise PlatformUnavailable("twitter POST /2/tweets answered without data.id")
        return post_id

    def publish_media(self, text: str, media: MediaFile) -> str:
        media_id = self.upload_media(media)
        body = self.json(
            self.request("POST", "/2/tweets", json={"text": text, "media": {"media_ids": [media_id]}})
        )
        post_id = (body.get("data") or {}).get("id") if isinstance(body, dict) else None
        if not isinstance(post_id, str):
            raise PlatformUnavailable("twitter POST /2/tweets answered without data.id")
        return post_id

    def upload_media(self, media: MediaFile) -> str:
        """Upload one image (simple upload); its media id."""
        files = {"media": (media.filename, media.read(), media.mime_type)}
        form = {"media_category": "tweet_image", "media_type": media.mime_type}
        body = self.json(self.request("POST", "/2/media/upload", data=form, files=files))
        data = body.get("data") if isinstance(body, dict) else None
        media_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(media_id, str):
            raise PlatformUnavailable("twitter POST /2/media/upload answered without data.id")
        state = (data.get("processing_info") or {}).get("state")
        if state == "failed":
            reason = f"X could not process {media.filename}"
            raise ContentRejected(f"twitter POST /2/media/upload: {reason}", reason)
        return media_id

    def find_post(self, text: str) -> str | None:
        path = f"/2/users/{self.credentials.external_id}/tweets"
        body = self.json(self.request("GET", path, params={"max_results": LOOKUP_COUNT}))
        for post in (body.get("data") or []) if isinstance(body, dict) else []:
            if same_text(text, post.get("text")):
                return str(post["id"])
        return None

    def error_reason(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return None
        if isinstance(body.get("detail"), str):
            return str(body["detail"])
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message") or errors[0].get("detail") or "")
        return None
