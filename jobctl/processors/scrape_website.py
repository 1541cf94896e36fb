"""`scrape-website`: payload -> the scrape service (breadth-first, same site) -> its counts."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from jobctl.domain.context import SourceKind
from jobctl.domain.payloads import ScrapeWebsitePayload
from jobctl.processors import context_support as support
from jobctl.processors.base import JobContext
from jobctl.services.context.sync import resolve_source, scrape_website


class ScrapeWebsiteProcessor:
    job_type: ClassVar[str] = "scrape-website"

    def run(self, payload: BaseModel, ctx: JobContext) -> Any:
        assert isinstance(payload, ScrapeWebsitePayload)
        store = support.store()
        source = resolve_source(
            store, payload.organization_id, SourceKind.WEBSITE,
            source_id=payload.source_id, url=payload.url, now=support.now(),
        )
        return scrape_website(store, source, policy=support.policy(), run=support.sync_run(ctx),
                              max_pages=payload.max_pages)  # fmt: skip
