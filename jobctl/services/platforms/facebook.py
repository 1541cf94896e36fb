"""Facebook Pages through the Graph API.

- Publish: `POST /{page-id}/feed` with `message` and a Page access token (pages_manage_posts);
  the answer is `{"id": "{page-id}_{post-id}"}`.
  https://developers.facebook.com/docs/pages-api/posts
- Look-up: `GET /{page-id}/posts?fields=id,message&limit=N` -> `{"data": [{"id", "message"}]}`.
- Metrics: one paged list with field expansion, `GET /{page-id}/posts?fields=id,created_time,
  shares,comments.summary(true).limit(0),reactions.summary(true).limit(0),
  insights.metric(post_impressions,post_impressions_unique,post_clicks)&limit=100&since=UNIX`
  (cursor `after`). Each post carries `shares.count`, `comments.summary.total_count`,
  `reactions.summary.total_count` and `insights.data[] {name, period: lifetime, values[{value}]}`
  as `GET /{page-post-id}/insights?metric=...` answers it. Needs pages_read_engagement and
  read_insights with a Page token.
  https://developers.facebook.com/docs/graph-api/reference/page/feed
  https://developers.facebook.com/docs/graph-api/reference/insights#page-posts
  Mapping: impressions=post_impressions, reach=post_impressions_unique, likes=reactions,
  comments, shares, clicks=post_clicks; Facebook reports no saves.
- Media (publish_media): `POST /{page-id}/photos` as multipart/form-data with the file as
  `source` and the text as `caption` (a published photo is its own feed story) -> `{"id":
  photo id, "post_id": "{page-id}_{post-id}"}`; the post id is kept, as for a text post, and
  the photo post lists under /{page-id}/posts with the caption as its message.
  https://developers.facebook.com/docs/graph-api/reference/page/photos (publishing)
  https://developers.facebook.com/docs/graph-api/photo-uploads ("Provide a file with the POST")
- Errors: see jobctl.services.platforms.meta.

No idempotency key: the publish service looks recent posts up before posting again.
Base URL default: https://graph.facebook.com/v21.0.
"""

from __future__ import annotations

from typing import Any, ClassVar

from jobctl.services.platforms.base import PlatformUnavailable
from jobctl.services.platforms.media import MediaFile
from jobctl.services.platforms.meta import MetaClient
from jobctl.services.platforms.metrics import MetricsQuery, PostStats, count, insight_values, parse_time

DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0"
POST_METRICS = "post_impressions,post_impressions_unique,post_clicks"
POST_FIELDS = (
    "id,created_time,shares,comments.summary(true).limit(0),reactions.summary(true).limit(0),"
    f"insights.metric({POST_METRICS})"
)


def _summary(post: dict[str, Any], edge: str) -> int:
    value = post.get(edge)
    summary = value.get("summary") if isinstance(value, dict) else None
    return count(summary.get("total_count")) if isinstance(summary, dict) else 0


def _stats(post: dict[str, Any]) -> PostStats:
    insights = insight_values(post.get("insights"))
    shares = post.get("shares")
    return PostStats(
        str(post["id"]), parse_time(post.get("created_time")),
        impressions=insights.get("post_impressions"), reach=insights.get("post_impressions_unique"),
        likes=_summary(post, "reactions"), comments=_summary(post, "comments"),
        shares=count(shares.get("count")) if isinstance(shares, dict) else 0,
        clicks=insights.get("post_clicks", 0),
    )  # fmt: skip


class FacebookClient(MetaClient):
    platform: ClassVar[str] = "facebook"

    def publish(self, text: str, image_url: str | None = None) -> str:
        # Text only: a photo post is another endpoint (/{page-id}/photos), not done yet.
        data = {"message": text}
        return self.post_id(self.request("POST", f"/{self.credentials.external_id}/feed", data=data))

    def publish_media(self, text: str, media: MediaFile) -> str:
        page = self.credentials.external_id
        files = {"source": (media.filename, media.read(), media.mime_type)}
        form = {"caption": text, "published": "true"}
        body = self.json(self.request("POST", f"/{page}/photos", data=form, files=files))
        post_id = body.get("post_id") if isinstance(body, dict) else None
        if isinstance(post_id, str):
            return post_id
        photo_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(photo_id, str):
            raise PlatformUnavailable(f"facebook POST /{page}/photos answered without an id")
        return f"{page}_{photo_id}"  # an older answer without post_id: the photo's story id

    def find_post(self, text: str) -> str | None:
        return self.find_in(f"/{self.credentials.external_id}/posts", "message", text)

    def post_metrics(self, query: MetricsQuery) -> list[PostStats]:
        posts = self.list_edge(f"/{self.credentials.external_id}/posts", POST_FIELDS, query)
        return [_stats(p) for p in posts]
