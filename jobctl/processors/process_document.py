"""`process-document`: payload -> the document service (a path under the root, or a URL) -> chunks."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from jobctl.domain.context import SourceKind
from jobctl.domain.payloads import ProcessDocumentPayload
from jobctl.processors import context_support as support
from jobctl.processors.base import JobContext
from jobctl.services.context.sync import process_document, resolve_source


class ProcessDocumentProcessor:
    job_type: ClassVar[str] = "process-document"

    def run(self, payload: BaseModel, ctx: JobContext) -> Any:
        assert isinstance(payload, ProcessDocumentPayload)
        store = support.store()
        source = resolve_source(
            store, payload.organization_id, SourceKind.DOCUMENT,
            source_id=payload.source_id, url=payload.path or payload.url, now=support.now(),
        )
        return process_document(store, source, policy=support.policy(), run=support.sync_run(ctx),
                                documents_root=support.settings().documents_root,
                                mime_type=payload.mime_type)  # fmt: skip
