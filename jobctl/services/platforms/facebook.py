"""Facebook Pages through the Graph API.

- Publish: `POST /{page-id}/feed` with `message` and a Page access token (pages_manage_posts);
  the answer is `{"id": "{page-id}_{post-id}"}`.
  https://developers.facebook.com/docs/pages-api/posts
- Look-up: `GET /{page-id}/posts?fields=id,message&limit=N` -> `{"data": [{"id", "message"}]}`.
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

from typing import ClassVar

from jobctl.services.platforms.base import PlatformUnavailable
from jobctl.services.platforms.media import MediaFile
from jobctl.services.platforms.meta import MetaClient

DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0"


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
