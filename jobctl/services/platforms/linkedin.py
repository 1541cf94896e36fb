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

import httpx

from jobctl.services.platforms.base import PlatformClient, PlatformUnavailable, same_text
from jobctl.services.platforms.media import MediaFile

DEFAULT_BASE_URL = "https://api.linkedin.com"
LOOKUP_COUNT = 20
ALT_TEXT_MAX = 4086  # the Posts API's altText limit
_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
_ESCAPED = re.compile(r"\\([\\|{}@\[\]()<>#*_~])")


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

    def error_reason(self, body: Any) -> str | None:
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return str(body["message"])
        return None
