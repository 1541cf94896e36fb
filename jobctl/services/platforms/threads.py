"""Threads through the Threads API: two steps.

1. `POST /{threads-user-id}/threads` with `media_type=TEXT` and `text` (or IMAGE + `image_url`)
   -> `{"id": container}`;
2. `POST /{threads-user-id}/threads_publish` with `creation_id=container` -> `{"id": media id}`.
https://developers.facebook.com/docs/threads/posts
- Look-up: `GET /{threads-user-id}/threads?fields=id,text&limit=N` -> `{"data": [{"id", "text"}]}`.
- Metrics: the user's threads `GET /{threads-user-id}/threads?fields=id,timestamp&limit=100
  &since=UNIX` (cursor `after`), then for each `GET /{threads-media-id}/insights
  ?metric=views,likes,replies,reposts,quotes,shares` -> `{"data": [{"name", "period":
  "lifetime", "values": [{"value"}]}]}` (threads_manage_insights).
  https://developers.facebook.com/docs/threads/insights
  Mapping: impressions=views, likes, comments=replies, shares=reposts+quotes+shares; Threads
  reports no reach, saves or clicks per post.
- Media (publish_media): step 1 with `media_type=IMAGE` and `image_url` (public: Threads
  fetches it, it cannot take bytes; JPEG or PNG), then a wait until the container's `status` is
  FINISHED (`GET /{container-id}?fields=status,error_message`) instead of the fixed ~30 s the
  guide suggests, then step 2.
- Errors: Meta's error body (jobctl.services.platforms.meta).

No idempotency key: the publish service looks recent posts up before publishing again.
Base URL default: https://graph.threads.net/v1.0.
"""

from __future__ import annotations

from typing import Any, ClassVar

from jobctl.services.platforms.base import ContentRejected
from jobctl.services.platforms.media import MediaFile
from jobctl.services.platforms.meta import MetaClient
from jobctl.services.platforms.metrics import MetricsQuery, PostStats, insight_values, parse_time

DEFAULT_BASE_URL = "https://graph.threads.net/v1.0"
MEDIA_METRICS = "views,likes,replies,reposts,quotes,shares"
METRIC_PARAMS = {"metric": MEDIA_METRICS}


class ThreadsClient(MetaClient):
    platform: ClassVar[str] = "threads"

    def publish(self, text: str, image_url: str | None = None) -> str:
        user = self.credentials.external_id
        data = {"media_type": "IMAGE", "image_url": image_url, "text": text} if image_url else {
            "media_type": "TEXT", "text": text}  # fmt: skip
        container = self.post_id(self.request("POST", f"/{user}/threads", data=data))
        return self.post_id(self.request("POST", f"/{user}/threads_publish", data={"creation_id": container}))

    def publish_media(self, text: str, media: MediaFile) -> str:
        if not media.public_url:
            reason = "Threads fetches images from a public URL: set JOBCTL_PUBLISH_MEDIA_URL"
            raise ContentRejected(f"threads: {reason}", reason)
        user = self.credentials.external_id
        data = {"media_type": "IMAGE", "image_url": media.public_url, "text": text}
        container = self.post_id(self.request("POST", f"/{user}/threads", data=data))
        self.wait_for_container(container, "status", "error_message")
        return self.post_id(self.request("POST", f"/{user}/threads_publish", data={"creation_id": container}))

    def find_post(self, text: str) -> str | None:
        return self.find_in(f"/{self.credentials.external_id}/threads", "text", text)

    def post_metrics(self, query: MetricsQuery) -> list[PostStats]:
        posts = self.list_edge(f"/{self.credentials.external_id}/threads", "id,timestamp", query)
        return [self._stats(p) for p in posts]

    def _stats(self, post: dict[str, Any]) -> PostStats:
        media_id = str(post["id"])
        self.start_operation()
        body = self.json_object(self.request("GET", f"/{media_id}/insights", params=METRIC_PARAMS))
        v = insight_values(body)
        return PostStats(
            media_id, parse_time(post.get("timestamp")), impressions=v.get("views"),
            likes=v.get("likes", 0), comments=v.get("replies", 0),
            shares=v.get("reposts", 0) + v.get("quotes", 0) + v.get("shares", 0),
        )  # fmt: skip
