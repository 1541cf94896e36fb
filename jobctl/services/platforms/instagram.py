"""Instagram (professional accounts) through the Instagram Graph API: two steps.

1. `POST /{ig-user-id}/media` with `image_url` (public) and `caption` -> `{"id": container}`;
2. `POST /{ig-user-id}/media_publish` with `creation_id=container` -> `{"id": media id}`.
https://developers.facebook.com/docs/instagram-platform/content-publishing
- Look-up: `GET /{ig-user-id}/media?fields=id,caption&limit=N` -> `{"data": [{"id", "caption"}]}`.
- Instagram has no text-only posts: publishing needs an image URL the platform can fetch.
- Media (publish_media): the same two steps with the image's public URL (Instagram "cURLs"
  it: it cannot take bytes; JPEG only), waiting in between until the container's `status_code`
  is FINISHED (`GET /{container-id}?fields=status_code,status`).

No idempotency key (a container is not a post: creating a second one publishes nothing); the
publish service looks recent media up before publishing again.
Base URL default: https://graph.facebook.com/v21.0.
"""

from __future__ import annotations

from typing import ClassVar

from jobctl.services.platforms.base import ContentRejected
from jobctl.services.platforms.media import MediaFile
from jobctl.services.platforms.meta import MetaClient

DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0"


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
