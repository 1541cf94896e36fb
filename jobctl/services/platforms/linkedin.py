"""LinkedIn Posts API (versioned REST).

- Publish: `POST /rest/posts` with headers `LinkedIn-Version: YYYYMM` and
  `X-Restli-Protocol-Version: 2.0.0`, body `{"author": urn, "commentary", "visibility": "PUBLIC",
  "distribution": {"feedDistribution": "MAIN_FEED", ...}, "lifecycleState": "PUBLISHED"}`;
  the answer is 201 with the new post's URN in the `x-restli-id` header (no body).
  https://learn.microsoft.com/linkedin/marketing/community-management/shares/posts-api
- Look-up: `GET /rest/posts?q=author&author={urn}&count=N` -> `{"elements": [{"id",
  "commentary"}]}`.
- `commentary` is "little text": reserved characters are backslash-escaped so they show as typed.
- Errors: `{"status", "serviceErrorCode", "message"}`; 401 for an expired token (60 days).

- Metrics, in two steps:
  1. the author's posts: `GET /rest/posts?q=author&author={urn}&count=N&start=S&sortBy=CREATED`
     -> `{"elements": [{"id", "publishedAt" (epoch ms), ...}], "paging": {"start", "count"}}`,
     paged by start/count until a short page or a post older than `since`;
  2. their statistics:
     - an organisation author (`urn:li:organization:`): `GET /rest/organizationalEntityShareStatistics
       ?q=organizationalEntity&organizationalEntity={urn}&shares=List(...)&ugcPosts=List(...)`
       (URNs URL-encoded inside List(), Rest.li 2.0) -> `{"elements": [{"share" | "ugcPost",
       "totalShareStatistics": {"impressionCount", "uniqueImpressionsCount", "clickCount",
       "likeCount", "commentCount", "shareCount", "engagement"}}]}` (lifetime, organic only);
       https://learn.microsoft.com/linkedin/marketing/community-management/organizations/share-statistics
     - a member author (`urn:li:person:`): `GET /rest/memberCreatorPostAnalytics?q=entity
       &entity=(share:{urn})&queryType={IMPRESSION|MEMBERS_REACHED|REACTION|COMMENT|RESHARE}
       &aggregation=TOTAL` -> `{"elements": [{"count"}]}`, one request per metric;
       https://learn.microsoft.com/linkedin/marketing/community-management/members/post-statistics
  Mapping: impressions=impressionCount / IMPRESSION, reach=uniqueImpressionsCount /
  MEMBERS_REACHED, likes=likeCount / REACTION, comments, shares=shareCount / RESHARE,
  clicks=clickCount (organisations only); LinkedIn reports no saves.
- Rate limits: 429 per application and member per day (reset at midnight UTC); LinkedIn sends
  no reset header, so Retry-After when present, else the default wait.
  https://learn.microsoft.com/linkedin/shared/api-guide/concepts/rate-limits
- Media (publish_media), the Images API: `POST /rest/images?action=initializeUpload` with
  `{"initializeUploadRequest": {"owner": author urn}}` -> `{"value": {"uploadUrl",
  "uploadUrlExpiresAt", "image": "urn:li:image:..."}}`; `PUT` the bytes to `uploadUrl` (201;
  the documented example sends the bearer header, so we do, to LinkedIn's own hosts only); then
  the post above with `"content": {"media": {"id": image urn, "altText"}}`.
  https://learn.microsoft.com/linkedin/marketing/community-management/shares/images-api
  https://learn.microsoft.com/linkedin/marketing/community-management/shares/posts-api (image post)

No idempotency key on /rest/posts: the publish service looks recent posts up before posting again.
Base URL default: https://api.linkedin.com.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from jobctl.services.platforms.base import PlatformClient, PlatformUnavailable, same_text
from jobctl.services.platforms.media import MediaFile
from jobctl.services.platforms.metrics import MetricsQuery, PostStats, count, maybe_count, parse_time

DEFAULT_BASE_URL = "https://api.linkedin.com"
LOOKUP_COUNT = 20
ALT_TEXT_MAX = 4086  # the Posts API's altText limit
_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
_ESCAPED = re.compile(r"\\([\\|{}@\[\]()<>#*_~])")
STATS_BATCH = 20  # post URNs per organizationalEntityShareStatistics request
MEMBER_METRICS = {"IMPRESSION": "impressions", "MEMBERS_REACHED": "reach", "REACTION": "likes",
                  "COMMENT": "comments", "RESHARE": "shares"}  # fmt: skip


def little_text(text: str) -> str:
    return _RESERVED.sub(r"\\\1", text)


def plain_text(commentary: str) -> str:
    return _ESCAPED.sub(r"\1", commentary)


class LinkedInClient(PlatformClient):
    platform: ClassVar[str] = "linkedin"

    def headers(self) -> dict[str, str]:
        return {
            **super().headers(),
            "LinkedIn-Version": self.settings.linkedin_version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    def publish(self, text: str, image_url: str | None = None) -> str:
        body = {
            "author": self.credentials.external_id,
            "commentary": little_text(text),
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }  # fmt: skip
        response = self.request("POST", "/rest/posts", json=body)
        post_id = str(response.headers.get("x-restli-id") or "")
        if not post_id:
            raise PlatformUnavailable("linkedin POST /rest/posts answered without x-restli-id")
        return post_id

    def publish_media(self, text: str, media: MediaFile) -> str:
        image = self.upload_image(media)
        body = {
            "author": self.credentials.external_id,
            "commentary": little_text(text),
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "content": {"media": {"id": image, "altText": media.alt_text[:ALT_TEXT_MAX]}},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }  # fmt: skip
        response = self.request("POST", "/rest/posts", json=body)
        post_id = str(response.headers.get("x-restli-id") or "")
        if not post_id:
            raise PlatformUnavailable("linkedin POST /rest/posts answered without x-restli-id")
        return post_id

    def upload_image(self, media: MediaFile) -> str:
        """Register an upload, PUT the bytes to the URL LinkedIn handed out; the image URN."""
        init = {"initializeUploadRequest": {"owner": self.credentials.external_id}}
        response = self.request("POST", "/rest/images", params={"action": "initializeUpload"}, json=init)
        body = self.json(response)
        value = body.get("value") if isinstance(body, dict) else None
        upload_url = value.get("uploadUrl") if isinstance(value, dict) else None
        image = value.get("image") if isinstance(value, dict) else None
        if not isinstance(upload_url, str) or not isinstance(image, str):
            raise PlatformUnavailable(
                "linkedin POST /rest/images answered without value.uploadUrl / value.image"
            )
        headers = {"Content-Type": media.mime_type}
        self.request_url(
            "PUT", upload_url, bearer=self._ours(upload_url), content=media.read(), headers=headers
        )
        return image

    def _ours(self, url: str) -> bool:
        """Whether `url` is on LinkedIn's hosts (or the configured API host): only there does the
        token go."""
        parsed, base = httpx.URL(url), httpx.URL(self.settings.base_url)
        if parsed.host == base.host and parsed.scheme == base.scheme:
            return True
        return parsed.scheme == "https" and (
            parsed.host == "linkedin.com" or parsed.host.endswith(".linkedin.com")
        )

    def find_post(self, text: str) -> str | None:
        params = {"q": "author", "author": self.credentials.external_id, "count": LOOKUP_COUNT}
        body = self.json(self.request("GET", "/rest/posts", params=params))
        for post in (body.get("elements") or []) if isinstance(body, dict) else []:
            if same_text(text, plain_text(str(post.get("commentary") or ""))):
                return str(post["id"])
        return None

    # -- metrics -------------------------------------------------------------------------------

    def post_metrics(self, query: MetricsQuery) -> list[PostStats]:
        posts = self._recent_posts(query)
        if self.credentials.external_id.startswith("urn:li:organization:"):
            stats = self._organization_stats([urn for urn, _ in posts])
        else:
            stats = {urn: self._member_stats(urn) for urn, _ in posts}
        return [
            PostStats(urn, published, **stats[urn]) if urn in stats else PostStats(urn, published)
            for urn, published in posts
        ]

    def _recent_posts(self, query: MetricsQuery) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        size = min(100, max(1, query.page_size))
        start = 0
        while len(out) < query.max_posts:
            params = {"q": "author", "author": self.credentials.external_id, "count": size,
                      "start": start, "sortBy": "CREATED"}  # fmt: skip
            self.start_operation()
            body = self.json_object(self.request("GET", "/rest/posts", params=params))
            elements = [e for e in (body.get("elements") or []) if isinstance(e, dict) and e.get("id")]
            for post in elements:
                published = parse_time(post.get("publishedAt") or post.get("createdAt"))
                if query.since is not None and published is not None and published < query.since:
                    return out[: query.max_posts]
                out.append((str(post["id"]), published))
            if len(elements) < size:
                break
            start += size
        return out[: query.max_posts]

    def _organization_stats(self, urns: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        org = quote(self.credentials.external_id, safe="")
        for first in range(0, len(urns), STATS_BATCH):
            batch = urns[first : first + STATS_BATCH]
            query = f"q=organizationalEntity&organizationalEntity={org}"
            for key, kind in (("shares", "urn:li:share:"), ("ugcPosts", "urn:li:ugcPost:")):
                picked = [quote(u, safe="") for u in batch if u.startswith(kind)]
                if picked:
                    query += f"&{key}=List({','.join(picked)})"
            self.start_operation()
            body = self.json_object(self.request("GET", f"/rest/organizationalEntityShareStatistics?{query}"))
            for element in body.get("elements") or []:
                urn = element.get("share") or element.get("ugcPost") if isinstance(element, dict) else None
                totals = element.get("totalShareStatistics") if urn else None
                if not isinstance(totals, dict):
                    continue
                out[str(urn)] = {
                    "impressions": maybe_count(totals.get("impressionCount")),
                    "reach": maybe_count(totals.get("uniqueImpressionsCount")),
                    "likes": count(totals.get("likeCount")), "comments": count(totals.get("commentCount")),
                    "shares": count(totals.get("shareCount")), "clicks": count(totals.get("clickCount")),
                }  # fmt: skip
        return out

    def _member_stats(self, urn: str) -> dict[str, Any]:
        kind = "ugc" if urn.startswith("urn:li:ugcPost:") else "share"
        entity = f"({kind}:{quote(urn, safe='')})"
        out: dict[str, Any] = {}
        for query_type, name in MEMBER_METRICS.items():
            self.start_operation()
            path = (f"/rest/memberCreatorPostAnalytics?q=entity&entity={entity}"
                    f"&queryType={query_type}&aggregation=TOTAL")  # fmt: skip
            body = self.json_object(self.request("GET", path))
            total = sum(count(e.get("count")) for e in body.get("elements") or [] if isinstance(e, dict))
            out[name] = total
        return out

    def error_reason(self, body: Any) -> str | None:
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return str(body["message"])
        return None
