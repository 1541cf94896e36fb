"""Threads through the Threads API: two steps.

1. `POST /{threads-user-id}/threads` with `media_type=TEXT` and `text` (or IMAGE + `image_url`)
   -> `{"id": container}`;
2. `POST /{threads-user-id}/threads_publish` with `creation_id=container` -> `{"id": media id}`.
https://developers.facebook.com/docs/threads/posts
- Look-up: `GET /{threads-user-id}/threads?fields=id,text&limit=N` -> `{"data": [{"id", "text"}]}`.
- Media (publish_media): step 1 with `media_type=IMAGE` and `image_url` (public: Threads
  fetches it, it cannot take bytes; JPEG or PNG), then a wait until the container's `status` is
  FINISHED (`GET /{container-id}?fields=status,error_message`) instead of the fixed ~30 s the
  guide suggests, then step 2.
- Errors: Meta's error body (jobctl.services.platforms.meta).

No idempotency key: the publish service looks recent posts up before publishing again.
Base URL default: https://graph.threads.net/v1.0.
"""

from __future__ import annotations

from typing import ClassVar

from jobctl.services.platforms.base import ContentRejected
from jobctl.services.platforms.media import MediaFile
from jobctl.services.platforms.meta import MetaClient

DEFAULT_BASE_URL = "https://graph.threads.net/v1.0"


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
