"""`generate-image`: payload -> the configured images endpoint, else the offline card renderer ->
the ImageAsset it recorded (id, path under the data dir, width, height, provider)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from jobctl.domain.payloads import GenerateImagePayload
from jobctl.processors import content_support as support
from jobctl.processors.base import JobContext
from jobctl.services.content.images import PROVIDER, Draw, generate_image, offline_card


class GenerateImageProcessor:
    job_type: ClassVar[str] = "generate-image"

    def run(self, payload: BaseModel, ctx: JobContext) -> Any:
        assert isinstance(payload, GenerateImagePayload)
        ctx.check_cancelled()
        settings = support.settings()
        endpoint = support.image_endpoint(settings, ctx)
        draw: Draw = offline_card
        provider = PROVIDER
        if endpoint is not None:
            from jobctl.services.content.images_api import NAME, api_image

            model = settings.image_model
            draw = lambda _org, p, w, h: api_image(endpoint, model, p, w, h)  # noqa: E731
            provider = NAME
        try:
            record = generate_image(
                support.store(), payload.organization_id, payload.prompt, payload.size,
                payload.content_item_id, images_dir=settings.data_dir / "images", now=support.now,
                draw=draw, provider=provider,
            )  # fmt: skip
        finally:
            if endpoint is not None:
                endpoint.close()
        return record.to_json()
