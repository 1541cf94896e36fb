"""`sync-rss`: payload -> the feed sync service -> its counts (new, seen, not modified)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from jobctl.domain.context import SourceKind
from jobctl.domain.payloads import SyncRssPayload
from jobctl.processors import context_support as support
from jobctl.processors.base import JobContext
from jobctl.services.context.sync import resolve_source, sync_feed


class SyncRssProcessor:
    job_type: ClassVar[str] = "sync-rss"

    def run(self, payload: BaseModel, ctx: JobContext) -> Any:
        assert isinstance(payload, SyncRssPayload)
        store = support.store()
        source = resolve_source(
            store, payload.organization_id, SourceKind.RSS,
            source_id=payload.source_id, url=payload.feed_url, now=support.now(),
        )
        return sync_feed(store, source, policy=support.policy(), run=support.sync_run(ctx))
