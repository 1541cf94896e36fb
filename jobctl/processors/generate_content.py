"""`generate-content`: payload -> the content factory (rank, write, check, store) -> its
ContentGenerationResult (content item ids, their lengths as each platform counts them, the
context items used, the provider and model, the brand learning it followed)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from jobctl.domain.payloads import GenerateContentPayload
from jobctl.processors import content_support as support
from jobctl.processors.base import JobContext
from jobctl.services.content.generate import generate_content


class GenerateContentProcessor:
    job_type: ClassVar[str] = "generate-content"

    def run(self, payload: BaseModel, ctx: JobContext) -> Any:
        assert isinstance(payload, GenerateContentPayload)
        learnings = support.learning_store().latest(payload.organization_id, insights_only=True)
        provider = support.provider_for(support.settings(), ctx)
        try:
            result = generate_content(
                support.store(), payload, provider,
                job_id=ctx.job_id, now=support.now, check=ctx.check_cancelled, learnings=learnings,
            )  # fmt: skip
        finally:
            close = getattr(provider, "close", None)
            if callable(close):
                close()  # the chat provider's HTTP connections
        return result.to_json()
