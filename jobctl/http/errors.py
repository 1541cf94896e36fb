"""jobctl's errors as HTTP answers: one status per kind of error, bodies the OpenAPI documents.

422 answers keep FastAPI's own shape ({"detail": [{"loc", "msg", "type"}]}), so a payload that
fails in the core (a cross-field rule, an unknown queue) reads like one FastAPI rejected.
Everything else is {"error": "<one sentence>"}. Backend messages carry only masked URLs.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from jobctl.domain.errors import (
    BackendUnavailableError,
    InvalidInputError,
    InvalidTransitionError,
    JobctlError,
    JobNotFoundError,
    PayloadValidationError,
    TooManyJobsError,
    UnknownJobTypeError,
    UnknownQueueError,
)
from jobctl.domain.redaction import redact

log = logging.getLogger("jobctl.http")


class HttpProblem(Exception):
    """An answer decided in the HTTP layer (401, 404, 409, 429, 501) with its one sentence."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def unprocessable(loc: list[str | int], msg: str, kind: str = "value_error") -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": [{"loc": loc, "msg": msg, "type": kind}]})


def _payload_loc(path: str) -> list[str | int]:
    loc: list[str | int] = ["body", "payload"]
    for part in path.replace("[", ".").replace("]", "").split("."):
        if part:
            loc.append(int(part) if part.isdigit() else part)
    return loc


def _answer(exc: JobctlError) -> JSONResponse:
    if isinstance(exc, PayloadValidationError):
        return JSONResponse(
            status_code=422,
            content={
                "detail": [
                    {"loc": _payload_loc(path), "msg": msg, "type": "value_error"} for path, msg in exc.errors
                ]
            },
        )
    if isinstance(exc, UnknownQueueError):
        return unprocessable(["body", "queue"], exc.message)
    if isinstance(exc, UnknownJobTypeError):
        return unprocessable(["body", "type"], exc.message)
    if isinstance(exc, InvalidInputError):
        return unprocessable(["body"], exc.message)
    status = 500
    if isinstance(exc, JobNotFoundError):
        status = 404
    elif isinstance(exc, InvalidTransitionError):
        status = 409
    elif isinstance(exc, TooManyJobsError):
        status = 429
    elif isinstance(exc, BackendUnavailableError):
        status = 503
    if status == 500:
        log.error(f"unexpected jobctl error: {exc.message}", extra={"event": "http-error"})
    return JSONResponse(status_code=status, content={"error": redact(exc.message)})


def install(app: FastAPI) -> None:
    @app.exception_handler(HttpProblem)
    async def _problem(_request: Request, exc: HttpProblem) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content={"error": exc.message}, headers=exc.headers)

    @app.exception_handler(JobctlError)
    async def _jobctl(_request: Request, exc: JobctlError) -> JSONResponse:
        return _answer(exc)
