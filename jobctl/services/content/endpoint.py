"""One OpenAI-compatible HTTP endpoint (chat completions, images): JSON POSTs with a bearer key,
one total deadline for all of a job's requests, and the retry and deferral rules.

- 429 and 5xx (and timeouts, connection errors) are retried after Retry-After (seconds or an
  HTTP date) or a short backoff (1, 2, 4 s; a 429 without Retry-After waits 2, 4, 8 s) while
  that fits in the deadline; past it, a 429 or a Retry-After becomes a JobDeferredError carrying
  the wait, anything else a retryable JobProcessingError.
- 401/403 and other 4xx are permanent: retrying cannot fix a key or a request.
- The key travels only in the Authorization header; every message built from a response is
  redacted of it, and EndpointSettings does not print it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from jobctl.domain.errors import JobDeferredError, JobProcessingError, PermanentJobError
from jobctl.domain.redaction import redact
from jobctl.services.tls import shared_ssl_context

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_EXCERPT = 200


@dataclass(frozen=True)
class EndpointSettings:
    base_url: str  # ".../v1"
    api_key: str | None = field(default=None, repr=False)
    total_timeout_s: float = 120.0
    request_timeout_s: float = 60.0
    max_attempts: int = 4  # per request: the first try and up to three retries
    key_setting: str = "JOBCTL_CONTENT_API_KEY"  # named in the error when the key is refused


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: an integer, or an HTTP date (RFC 9110); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Endpoint:
    def __init__(
        self,
        settings: EndpointSettings,
        label: str,
        *,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.label = label
        self._owns_client = client is None
        # no proxies or .netrc from the environment; the process-wide TLS context
        self._client = client or httpx.Client(trust_env=False, verify=shared_ssl_context())
        self._sleep = sleep or time.sleep
        self._clock = clock
        self._deadline: float | None = None
        self.requests = 0  # sent, retries included

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def _remaining(self) -> float:
        if self._deadline is None:
            self._deadline = self._clock() + self.settings.total_timeout_s
        return self._deadline - self._clock()

    def redact(self, text: str) -> str:
        key = self.settings.api_key
        return redact(text, (key,) if key else ())

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST `body` to {base_url}{path}; the decoded JSON of the 200 answer."""
        s = self.settings
        headers = {"Content-Type": "application/json"}
        if s.api_key:
            headers["Authorization"] = f"Bearer {s.api_key}"
        url = s.base_url.rstrip("/") + path
        for attempt in range(1, s.max_attempts + 1):
            remaining = self._remaining()
            if remaining <= 0:
                break
            wait: float | None = None
            self.requests += 1
            try:
                response = self._client.post(
                    url, json=body, headers=headers, timeout=min(remaining, s.request_timeout_s)
                )
            except httpx.HTTPError as exc:  # timeouts, refused connections, broken answers
                problem = f"{type(exc).__name__} from {self.label} endpoint"
            else:
                if response.status_code == 200:
                    return self._json(response)
                if response.status_code not in _RETRY_STATUS:
                    raise self._refused(response)
                wait = retry_after(response.headers.get("Retry-After"))
                problem = f"{self.label} endpoint answered HTTP {response.status_code}"
                if response.status_code == 429 and wait is None:
                    wait = 2.0**attempt
            delay = wait if wait is not None else min(2.0 ** (attempt - 1), 8.0)
            if attempt == s.max_attempts or delay >= self._remaining():
                if wait is not None:
                    raise JobDeferredError(f"{problem}; retry after {wait:g}s", retry_after_s=wait)
                raise JobProcessingError(f"{problem} after {attempt} attempt(s)")
            self._sleep(delay)
        raise JobProcessingError(
            f"{self.label} endpoint did not answer within the total deadline of {s.total_timeout_s:g}s"
        )

    def _refused(self, response: httpx.Response) -> PermanentJobError:
        status = response.status_code
        if status in (401, 403):
            return PermanentJobError(
                f"{self.label} endpoint refused the API key (HTTP {status}): set {self.settings.key_setting}"
                " to a valid key"
            )
        excerpt = self.redact(" ".join(response.text[:_EXCERPT].split()))
        return PermanentJobError(f"{self.label} endpoint refused the request (HTTP {status}): {excerpt}")

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise JobProcessingError(f"{self.label} endpoint sent an answer that is not JSON") from None
