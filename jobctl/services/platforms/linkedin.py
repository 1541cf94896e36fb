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

No idempotency key on /rest/posts: the publish service looks recent posts up before posting again.
Base URL default: https://api.linkedin.com.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from jobctl.services.platforms.base import PlatformClient, PlatformUnavailable, same_text

DEFAULT_BASE_URL = "https://api.linkedin.com"
LOOKUP_COUNT = 20
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
