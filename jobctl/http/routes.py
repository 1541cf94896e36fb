"""The /api routes: jobs (create, list, show, cancel, retry, attempts, logs) and queues.

Every route calls JobctlAPI, the Python API the CLI and the dashboard use. Isolation: a token of
organisation A lists with organization_id=A forced, and any job of another organisation (or of
none) answers exactly as an unknown id does: 404, never 403, on every route.

Idempotency-Key: the job id is derived from (the caller's organisation, the key), and enqueueing
is idempotent by id, so a repeat returns the first job; if the stored job's type, queue,
organisation or payload differ from this body's, the key was reused for another request: 409.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, StringConstraints

from jobctl.api.jobs import EnqueueRequest, JobctlAPI
from jobctl.domain.errors import JobctlError, JobNotFoundError
from jobctl.domain.records import JobFilter, JobRecord
from jobctl.domain.timeparse import parse_duration, parse_when, utcnow
from jobctl.http.auth import Caller, CallerDep
from jobctl.http.errors import HttpProblem, unprocessable
from jobctl.http.schemas import Accepted, EnqueueBody, Job, JobPage, Problem, Queues

router = APIRouter(prefix="/api")

_P = {"model": Problem}
COMMON: dict[int | str, dict[str, Any]] = {401: _P, 429: _P, 503: _P}
ONE_JOB: dict[int | str, dict[str, Any]] = {**COMMON, 404: _P}
# Identifiers as the core accepts them (jobctl.domain.job_types / content): anything else is a
# 422 here, before it reaches a database (PostgreSQL refuses NUL characters, for one).
JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
_ORG = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$"
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:,-]{0,999}$")]


def _api(request: Request) -> JobctlAPI:
    api: JobctlAPI = request.app.state.api
    return api


def _visible(request: Request, who: Caller, job_id: str) -> JobRecord:
    """The job if this caller may see it; else the 404 an unknown id gets."""
    job = _api(request).get_job(job_id)
    if not who.sees(job.organization_id):
        raise JobNotFoundError(job_id)
    return job


@router.post("/jobs", status_code=202, response_model=Accepted, responses={**COMMON, 409: _P})
def create_job(
    request: Request,
    who: CallerDep,
    body: Annotated[EnqueueBody, Body()],
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=200, description="Same key and body: same job.")
    ] = None,
) -> Any:
    """Create a job: 202 with its id and status (PENDING) once its row and RQ job are written."""
    api = _api(request)
    fields: BaseModel = body
    payload = fields.payload.model_dump(mode="json", exclude_none=True)  # type: ignore[attr-defined]
    job_type: str = fields.type  # type: ignore[attr-defined]
    org = who.organization_id
    if org is not None and payload.get("organization_id") not in (None, org):
        return unprocessable(
            ["body", "payload", "organization_id"], "must be your token's organization (or left out)"
        )
    if _has_nul(payload):  # PostgreSQL's JSON types refuse NUL characters
        return unprocessable(["body", "payload"], "must not contain NUL characters")
    if (
        not who.admin
        and job_type == "ping"
        and (payload.get("crash_attempts") or payload.get("hang_attempts"))
    ):
        return unprocessable(["body", "payload"], "crash and hang drills are for admin tokens only")
    delay_s: float | None = fields.delay_s  # type: ignore[attr-defined]
    req = EnqueueRequest(
        job_type,
        payload,
        organization_id=org,
        queue=fields.queue,  # type: ignore[attr-defined]
        delay=timedelta(seconds=delay_s) if delay_s else None,
        job_id=_idempotent_id(who, idempotency_key) if idempotency_key else None,
    )
    if idempotency_key is None:
        job = api.enqueue_job(req.job_type, req.payload, **_options(req))
        return Accepted(id=job.id, status=job.status.value)
    wanted = api.prepare(req, utcnow())
    job = api.enqueue_job(req.job_type, req.payload, **_options(req))
    same = (job.type, job.queue, job.organization_id, job.payload) == (
        wanted.type, wanted.queue, wanted.organization_id, wanted.payload,
    )  # fmt: skip
    if not same:
        raise HttpProblem(409, "this Idempotency-Key was already used with another request body")
    return Accepted(id=job.id, status=job.status.value)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _options(req: EnqueueRequest) -> dict[str, Any]:
    return {
        "organization_id": req.organization_id,
        "queue": req.queue,
        "delay": req.delay,
        "job_id": req.job_id,
    }


def _idempotent_id(who: Caller, key: str) -> str:
    scope = who.token.organization_id or f"admin:{who.token.id}"
    return "k" + hashlib.sha256(f"{scope}\0{key}".encode()).hexdigest()[:40]


@router.get("/jobs", response_model=JobPage, responses={**COMMON, 422: {}})
def list_jobs(
    request: Request,
    who: CallerDep,
    status: Annotated[
        list[str] | None, Query(description="pending, running, ... (repeat or comma-separate).")
    ] = None,
    type: Annotated[list[Name] | None, Query(description="Job type(s) (repeat).")] = None,
    queue: Annotated[list[Name] | None, Query(description="Queue(s) (repeat).")] = None,
    org: Annotated[
        str | None, Query(pattern=_ORG, description="Organisation (admin tokens; others see their own).")
    ] = None,
    since: Annotated[str | None, Query(description="Created within: 30m, 1h, 2d; or an ISO time.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> Any:
    """Jobs, newest first, with the filters of `jobctl jobs list`; cursor pagination."""
    from jobctl.domain.status import parse_status

    api = _api(request)
    try:
        statuses = tuple(parse_status(s) for s in _csv(status))
    except ValueError as exc:
        return unprocessable(["query", "status"], str(exc))
    since_at = None
    if since:
        try:
            since_at = _since(since)
        except (ValueError, OverflowError) as exc:
            return unprocessable(["query", "since"], str(exc))
    try:
        types = tuple(api.registry.spec(t).name for t in _csv(type)) if type else ()
    except JobctlError as exc:
        return unprocessable(["query", "type"], exc.message)
    before = _decode_cursor(cursor) if cursor else None
    if before is None and cursor:
        return unprocessable(["query", "cursor"], "not a cursor this API gave")
    if who.organization_id is not None:
        if org is not None and org != who.organization_id:
            return JSONResponse({"jobs": [], "next_cursor": None})
        org = who.organization_id
    flt = JobFilter(
        statuses=statuses, types=types, queues=tuple(_csv(queue)), organization_id=org,
        since=since_at, limit=limit + 1, before=before,
    )  # fmt: skip
    rows = api.list_jobs(flt)
    page, more = rows[:limit], len(rows) > limit
    nxt = _encode_cursor(page[-1]) if more and page else None
    return JobPage(jobs=[Job.of(r) for r in page], next_cursor=nxt)


def _since(text: str) -> datetime:
    try:
        return utcnow() - parse_duration(text)
    except ValueError:
        return parse_when(text)


def _csv(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _encode_cursor(job: JobRecord) -> str:
    return base64.urlsafe_b64encode(f"{job.created_at.isoformat()}|{job.id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, job_id = raw.partition("|")
        when = datetime.fromisoformat(at)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not job_id or when.tzinfo is None:
        return None
    return when, job_id


@router.get("/jobs/{job_id}", response_model=Job, responses=ONE_JOB)
def show_job(request: Request, who: CallerDep, job_id: JobId) -> Any:
    """One job."""
    return Job.of(_visible(request, who, job_id))


@router.delete("/jobs/{job_id}", response_model=Job, responses={**ONE_JOB, 409: _P})
def cancel_job(request: Request, who: CallerDep, job_id: JobId) -> Any:
    """Cancel a PENDING or RUNNING job (409 for any other status)."""
    _visible(request, who, job_id)
    return Job.of(_api(request).cancel_job(job_id))


@router.post("/jobs/{job_id}/retry", response_model=Job, responses={**ONE_JOB, 409: _P})
def retry_job(request: Request, who: CallerDep, job_id: JobId) -> Any:
    """Put a FAILED or CANCELLED job back in its queue with a fresh retry budget."""
    _visible(request, who, job_id)
    return Job.of(_api(request).retry_job(job_id))


@router.get("/jobs/{job_id}/attempts", responses=ONE_JOB)
def job_attempts(request: Request, who: CallerDep, job_id: JobId) -> Any:
    """Every attempt of a job: start, end, worker, outcome (as `jobctl jobs show`)."""
    _visible(request, who, job_id)
    return {"attempts": [a.to_json() for a in _api(request).job_attempts(job_id)]}


@router.get("/jobs/{job_id}/logs", responses=ONE_JOB)
def job_logs(request: Request, who: CallerDep, job_id: JobId, after: Annotated[int, Query(ge=0)] = 0) -> Any:
    """A job's progress and log lines, after sequence number `after`."""
    _visible(request, who, job_id)
    return _api(request).job_activity(job_id, last=None, after_seq=after).to_json()


@router.get("/queues", response_model=Queues, responses=COMMON)
def queues(request: Request, who: CallerDep) -> Any:
    """Per queue: queued, running, scheduled, failed, completed, cancelled; and the workers.
    Which job a worker runs is shown to admin tokens only (it may be another organisation's)."""
    out = _api(request).queue_overview().to_json()
    if not who.admin:
        for worker in out["workers"]:
            worker["current_job_id"] = None
        for queue in out["queues"]:
            queue["paused_by"] = None
    return out
