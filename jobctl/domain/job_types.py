"""Job types and queues: the routing, concurrency and lock defaults in one table of code.

Config may override queue numbers (settings.queue_overrides); plugins may add job types
through the `jobctl.processors` entry-point group (see jobctl.processors.registry).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from jobctl.domain import payloads as p
from jobctl.domain.errors import InvalidInputError, PayloadValidationError, UnknownQueueError
from jobctl.domain.queues import ANALYTICS_SYNC, CONTENT_GENERATION, CONTEXT_SCRAPING, QueueSpec


@dataclass(frozen=True)
class JobTypeSpec:
    """A job type: CLI name, enum-style constant, default queue (None: any queue, --queue
    required) and payload contract."""

    name: str
    constant: str
    queue: str | None
    payload_model: type[BaseModel]
    any_queue: bool = False

    def validate(self, payload: dict[str, object]) -> dict[str, object]:
        """Validate and normalise a payload; PayloadValidationError names each field path."""
        try:
            model = self.payload_model.model_validate(payload)
        except ValidationError as exc:
            errors = [(p.error_path(tuple(e["loc"])), str(e["msg"])) for e in exc.errors()]
            raise PayloadValidationError(self.name, errors) from None
        return model.model_dump(mode="json", exclude_none=True)


BUILTIN_JOB_TYPES: dict[str, JobTypeSpec] = {
    spec.name: spec
    for spec in (
        JobTypeSpec("generate-content", "GENERATE_CONTENT", CONTENT_GENERATION, p.GenerateContentPayload),
        JobTypeSpec("generate-image", "GENERATE_IMAGE", CONTENT_GENERATION, p.GenerateImagePayload),
        JobTypeSpec("scrape-website", "SCRAPE_WEBSITE", CONTEXT_SCRAPING, p.ScrapeWebsitePayload),
        JobTypeSpec("sync-rss", "SYNC_RSS", CONTEXT_SCRAPING, p.SyncRssPayload),
        JobTypeSpec("process-document", "PROCESS_DOCUMENT", CONTEXT_SCRAPING, p.ProcessDocumentPayload),
        JobTypeSpec("sync-analytics", "SYNC_ANALYTICS", ANALYTICS_SYNC, p.SyncAnalyticsPayload),
        JobTypeSpec("refresh-token", "REFRESH_TOKEN", ANALYTICS_SYNC, p.RefreshTokenPayload),
        JobTypeSpec("publish-content", "PUBLISH_CONTENT", ANALYTICS_SYNC, p.PublishContentPayload),
        JobTypeSpec("ping", "PING", None, p.PingPayload, any_queue=True),
    )
}


def normalise_type_name(name: str) -> str:
    """Accept the CLI name or the enum constant: 'scrape-website', 'SCRAPE_WEBSITE'."""
    return name.strip().lower().replace("_", "-")


def resolve_queue(spec: JobTypeSpec, requested: str | None, queues: dict[str, QueueSpec]) -> str:
    """The queue a job of `spec` goes to; `requested` overrides the default route."""
    name = requested or spec.queue
    if name is None:
        known = ", ".join(sorted(queues))
        raise InvalidInputError(f"job type {spec.name!r} runs on any queue: name one with --queue ({known})")
    if name not in queues:
        known = ", ".join(sorted(queues))
        raise UnknownQueueError(f"unknown queue {name!r} (known: {known})")
    return name


# RQ accepts only these characters in job ids (rq.utils: `[A-Za-z0-9_-]`).
JOB_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def check_job_id(job_id: str) -> str:
    if not JOB_ID_RE.fullmatch(job_id):
        raise InvalidInputError(f"invalid job id {job_id!r}: use 1-128 characters from A-Z a-z 0-9 _ -")
    return job_id
