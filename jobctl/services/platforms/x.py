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

- Metrics: `GET /2/users/{id}/tweets?tweet.fields=created_at,public_metrics,non_public_metrics
  &max_results=100&start_time=RFC3339[&pagination_token=meta.next_token]` (the user Posts
  timeline: up to 100 a page, `meta.next_token` until there is none).
  `public_metrics`: retweet_count, reply_count, like_count, quote_count, bookmark_count,
  impression_count; `non_public_metrics` (user-context token of the author, posts of the last
  30 days): impression_count, url_link_clicks, user_profile_clicks.
  https://docs.x.com/x-api/posts/timelines/integrate
  https://docs.x.com/x-api/fundamentals/metrics
  Mapping: likes=like_count, comments=reply_count, shares=retweet_count+quote_count,
  saves=bookmark_count, clicks=url_link_clicks+user_profile_clicks; X reports no reach.
  A token that may not read non_public_metrics (app-only, or not the author's: X answers 403)
  falls back to public_metrics alone, once, rather than failing the account.

X has no idempotency key, so the publish service looks recent posts up before posting again.
Base URL default: https://api.x.com.
"""

from __future__ import annotations

from typing import Any, ClassVar

from jobctl.services.platforms.base import ContentRejected, PlatformClient, PlatformUnavailable, same_text
from jobctl.services.platforms.media import MediaFile
from jobctl.services.platforms.metrics import MetricsQuery, PostStats, count, parse_time

DEFAULT_BASE_URL = "https://api.x.com"
LOOKUP_COUNT = 20
TWEET_FIELDS = "created_at,public_metrics,non_public_metrics"
PUBLIC_FIELDS = "created_at,public_metrics"


def _stats(post: dict[str, Any]) -> PostStats:
    public = post.get("public_metrics") or {}
    private = post.get("non_public_metrics") or {}
    impressions = public.get("impression_count", private.get("impression_count"))
    return PostStats(
        str(post["id"]), parse_time(post.get("created_at")),
        impressions=None if impressions is None else count(impressions),
        likes=count(public.get("like_count")), comments=count(public.get("reply_count")),
        shares=count(public.get("retweet_count")) + count(public.get("quote_count")),
        saves=count(public.get("bookmark_count")),
        clicks=count(private.get("url_link_clicks")) + count(private.get("user_profile_clicks")),
    )  # fmt: skip


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

    def post_metrics(self, query: MetricsQuery) -> list[PostStats]:
        path = f"/2/users/{self.credentials.external_id}/tweets"
        params: dict[str, Any] = {
            "tweet.fields": TWEET_FIELDS,
            "max_results": min(100, max(5, query.page_size)),
        }
        if query.since is not None:
            params["start_time"] = query.since.strftime("%Y-%m-%dT%H:%M:%SZ")
        out: list[PostStats] = []
        while len(out) < query.max_posts:
            self.start_operation()  # each page its own deadline
            try:
                body = self.json_object(self.request("GET", path, params=params))
            except ContentRejected:
                if params["tweet.fields"] == PUBLIC_FIELDS:
                    raise
                params["tweet.fields"] = PUBLIC_FIELDS  # not allowed the private metrics
                continue
            out += [_stats(p) for p in body.get("data") or [] if isinstance(p, dict) and "id" in p]
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                break
            params["pagination_token"] = token
        return out[: query.max_posts]

    def error_reason(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return None
        if isinstance(body.get("detail"), str):
            return str(body["detail"])
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message") or errors[0].get("detail") or "")
        return None
