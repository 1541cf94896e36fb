"""Request and response models of the HTTP API: what /openapi.json documents.

The body of `POST /api/jobs` is a union discriminated by `type`, one member per job type of the
catalogue, whose `payload` is that type's contract from jobctl.domain.payloads, so a bad
payload is a 422 with its field path (`body.payload.platforms.0`) and the OpenAPI document
carries every contract. One change: `organization_id` is optional, since an organisation's
token fills it in (an admin token may give any organisation, or none).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from jobctl.domain.job_types import BUILTIN_JOB_TYPES
from jobctl.domain.payloads import Identifier
from jobctl.domain.records import JobRecord


def _optional_org(model: type[BaseModel]) -> type[BaseModel]:
    if "organization_id" not in model.model_fields or not model.model_fields["organization_id"].is_required():
        return model
    doc = (model.__doc__ or "").strip()
    extra = "organization_id defaults to the token's organisation."
    made: type[BaseModel] = create_model(
        model.__name__,
        __base__=model,
        __doc__=f"{doc} {extra}".strip(),
        organization_id=(Identifier | None, None),
    )
    return made


def _enqueue_model(name: str, constant: str, payload: type[BaseModel]) -> type[BaseModel]:
    contract = _optional_org(payload)
    # A payload may be left out only when its contract has no required field (ping).
    empty_ok = not any(f.is_required() for f in contract.model_fields.values())
    cls_name = "Enqueue" + "".join(p.capitalize() for p in constant.split("_"))
    made: type[BaseModel] = create_model(
        cls_name,
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"Create a {name} job.",
        type=(Literal[name], ...),  # type: ignore[arg-type]
        payload=(contract, Field(default_factory=contract) if empty_ok else ...),
        queue=(Annotated[str, Field(min_length=1, max_length=100)] | None, None),
        delay_s=(Annotated[float, Field(ge=0, le=30 * 86400)] | None, None),
    )
    return made


ENQUEUE_MODELS: tuple[type[BaseModel], ...] = tuple(
    _enqueue_model(s.name, s.constant, s.payload_model) for s in BUILTIN_JOB_TYPES.values()
)
EnqueueBody = Annotated[Union[ENQUEUE_MODELS], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007


class Accepted(BaseModel):
    id: str
    status: str


class ErrorInfo(BaseModel):
    type: str
    message: str


class Job(BaseModel):
    """A job as the API shows it (no traceback: that is for operators, `jobctl jobs show`)."""

    id: str
    type: str
    queue: str
    status: str
    organization_id: str | None
    payload: dict[str, Any]
    result: Any = None
    error: ErrorInfo | None
    attempts: int
    max_attempts: int
    schedule_id: str | None
    scheduled_for: datetime | None
    next_attempt_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    worker: str | None
    duration_s: float | None

    @classmethod
    def of(cls, r: JobRecord) -> Job:
        return cls(
            id=r.id, type=r.type, queue=r.queue, status=r.status.value, organization_id=r.organization_id,
            payload=r.payload, result=r.result,
            error=ErrorInfo(type=r.error.type, message=r.error.message) if r.error else None,
            attempts=r.attempts, max_attempts=r.max_attempts, schedule_id=r.schedule_id,
            scheduled_for=r.scheduled_for, next_attempt_at=r.next_attempt_at, created_at=r.created_at,
            started_at=r.started_at, finished_at=r.finished_at, updated_at=r.updated_at, worker=r.worker,
            duration_s=r.duration_s,
        )  # fmt: skip


class JobPage(BaseModel):
    jobs: list[Job]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next (older) page; null at the end."
    )


class QueueInfo(BaseModel):
    name: str
    queued: int
    running: int
    scheduled: int
    failed: int
    completed: int
    cancelled: int
    workers: int
    paused: bool = Field(False, description="`jobctl queues pause`: workers take no jobs from it.")
    paused_at: datetime | None = None
    paused_by: str | None = Field(None, description="The OS user who paused it; admin tokens only.")


class WorkerView(BaseModel):
    name: str
    hostname: str | None
    pid: int | None
    queues: list[str]
    state: str
    current_job_id: str | None = Field(description="Shown to admin tokens only.")
    last_heartbeat: datetime | None


class Queues(BaseModel):
    queues: list[QueueInfo]
    workers: list[WorkerView]


class Problem(BaseModel):
    """Every non-2xx answer except 422: one sentence that says what is wrong."""

    error: str


class Health(BaseModel):
    ok: bool
    database: str
    redis: str
