"""Facebook Pages through the Graph API.

- Publish: `POST /{page-id}/feed` with `message` and a Page access token (pages_manage_posts);
  the answer is `{"id": "{page-id}_{post-id}"}`.
  https://developers.facebook.com/docs/pages-api/posts
- Look-up: `GET /{page-id}/posts?fields=id,message&limit=N` -> `{"data": [{"id", "message"}]}`.
- Errors: see jobctl.services.platforms.meta.

No idempotency key: the publish service looks recent posts up before posting again.
Base URL default: https://graph.facebook.com/v21.0.
"""

from __future__ import annotations

from typing import ClassVar

from jobctl.services.platforms.meta import MetaClient

DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0"


class FacebookClient(MetaClient):
    platform: ClassVar[str] = "facebook"

    def publish(self, text: str, image_url: str | None = None) -> str:
        # Text only: a photo post is another endpoint (/{page-id}/photos), not done yet.
        data = {"message": text}
        return self.post_id(self.request("POST", f"/{self.credentials.external_id}/feed", data=data))

    def find_post(self, text: str) -> str | None:
        return self.find_in(f"/{self.credentials.external_id}/posts", "message", text)
