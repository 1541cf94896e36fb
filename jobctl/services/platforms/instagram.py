"""Instagram (professional accounts) through the Instagram Graph API: two steps.

1. `POST /{ig-user-id}/media` with `image_url` (public) and `caption` -> `{"id": container}`;
2. `POST /{ig-user-id}/media_publish` with `creation_id=container` -> `{"id": media id}`.
https://developers.facebook.com/docs/instagram-platform/content-publishing
- Look-up: `GET /{ig-user-id}/media?fields=id,caption&limit=N` -> `{"data": [{"id", "caption"}]}`.
- Instagram has no text-only posts: publishing needs an image URL the platform can fetch.
- Media (publish_media): the same two steps with the image's public URL (Instagram "cURLs"
  it: it cannot take bytes; JPEG only), waiting in between until the container's `status_code`
  is FINISHED (`GET /{container-id}?fields=status_code,status`).

- Metrics: the media list `GET /{ig-user-id}/media?fields=id,timestamp,like_count,comments_count
  &limit=100&since=UNIX` (cursor `after`), then for each media `GET /{ig-media-id}/insights
  ?metric=reach,likes,comments,shares,saved,views` -> `{"data": [{"name", "period":
  "lifetime", "values": [{"value"}]}]}`. `impressions` is deprecated since v22.0 for media made
  after 2024-07-02; `views` is what Instagram counts instead, so it fills `impressions`.
  A media whose insights are refused (an album child, a story past 24 h, too few viewers:
  error 10 / 100) keeps the list's like and comment counts.
  https://developers.facebook.com/docs/instagram-platform/reference/instagram-media/insights
  https://developers.facebook.com/docs/instagram-platform/reference/instagram-user/media
  Rate limits: Business Use Case limits, X-Business-Use-Case-Usage (see meta).

No idempotency key (a container is not a post: creating a second one publishes nothing); the
publish service looks recent media up before publishing again.
Base URL default: https://graph.facebook.com/v21.0.
"""

from __future__ import annotations

from typing import Any, ClassVar

from jobctl.services.platforms.base import ContentRejected
from jobctl.services.platforms.media import MediaFile
from jobctl.services.platforms.meta import MetaClient
from jobctl.services.platforms.metrics import MetricsQuery, PostStats, count, insight_values, parse_time

DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0"
MEDIA_FIELDS = "id,timestamp,like_count,comments_count"
MEDIA_METRICS = "reach,likes,comments,shares,saved,views"
METRIC_PARAMS = {"metric": MEDIA_METRICS}


class InstagramClient(MetaClient):
    platform: ClassVar[str] = "instagram"

    def publish(self, text: str, image_url: str | None = None) -> str:
        if not image_url:
            reason = "Instagram posts need an image: generate one for it and set JOBCTL_PUBLISH_MEDIA_URL"
            raise ContentRejected(f"instagram: {reason}", reason)
        user = self.credentials.external_id
        container = self.post_id(
            self.request("POST", f"/{user}/media", data={"image_url": image_url, "caption": text})
        )
        return self.post_id(self.request("POST", f"/{user}/media_publish", data={"creation_id": container}))

    def publish_media(self, text: str, media: MediaFile) -> str:
        if not media.public_url:
            reason = "Instagram fetches images from a public URL: set JOBCTL_PUBLISH_MEDIA_URL"
            raise ContentRejected(f"instagram: {reason}", reason)
        user = self.credentials.external_id
        container = self.post_id(
            self.request("POST", f"/{user}/media", data={"image_url": media.public_url, "caption": text})
        )
        self.wait_for_container(container, "status_code", "status")
        return self.post_id(self.request("POST", f"/{user}/media_publish", data={"creation_id": container}))

    def find_post(self, text: str) -> str | None:
        return self.find_in(f"/{self.credentials.external_id}/media", "caption", text)

    def post_metrics(self, query: MetricsQuery) -> list[PostStats]:
        media = self.list_edge(f"/{self.credentials.external_id}/media", MEDIA_FIELDS, query)
        return [self._stats(m) for m in media]

    def _stats(self, media: dict[str, Any]) -> PostStats:
        media_id = str(media["id"])
        self.start_operation()
        try:
            body = self.json_object(self.request("GET", f"/{media_id}/insights", params=METRIC_PARAMS))
            values = insight_values(body)
        except ContentRejected:  # no insights for this media: the list's counts stand
            values = {}
        return PostStats(
            media_id, parse_time(media.get("timestamp")),
            impressions=values.get("views"), reach=values.get("reach"),
            likes=values.get("likes", count(media.get("like_count"))),
            comments=values.get("comments", count(media.get("comments_count"))),
            shares=values.get("shares", 0), saves=values.get("saved", 0),
        )  # fmt: skip
