"""`generate-image`: payload -> the offline card renderer -> the ImageAsset it recorded (id,
path under the data dir, width, height, provider). An images endpoint is not supported yet."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from jobctl.domain.payloads import GenerateImagePayload
from jobctl.processors import content_support as support
from jobctl.processors.base import JobContext
from jobctl.services.content.images import generate_image


class GenerateImageProcessor:
    job_type: ClassVar[str] = "generate-image"

    def run(self, payload: BaseModel, ctx: JobContext) -> Any:
        assert isinstance(payload, GenerateImagePayload)
        ctx.check_cancelled()
        record = generate_image(
            support.store(), payload.organization_id, payload.prompt, payload.size, payload.content_item_id,
            images_dir=support.settings().data_dir / "images", now=support.now,
        )  # fmt: skip
        return record.to_json()
