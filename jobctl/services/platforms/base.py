"""What every platform client shares: the account's credentials, one total deadline per
operation, the bearer header, and the mapping of HTTP answers to four errors.

- 429 (or a platform's own rate-limit code) -> RateLimited(retry_after_s), from Retry-After or
  the platform's reset header (X: `x-rate-limit-reset`, a Unix time).
- 401 (or a platform's invalid-token code) -> TokenRejected: the account needs re-auth.
- other 4xx -> ContentRejected(reason), the reason quoted from the platform's error body.
- 5xx, timeouts, refused connections -> PlatformUnavailable: retryable.

POSTs are never retried here: a timed-out POST may have been accepted, so retrying is the
publish service's decision (it looks the post up first). Tokens travel only in the
Authorization header (Meta's Graph APIs accept `Authorization: Bearer` as well as the
`access_token` parameter; the header keeps tokens out of URLs and so out of httpx's request
log lines), and every message built from a response is redacted of them.

Shared rate limits (issue 13): `ClientSettings.rate_gate` (jobctl.services.platforms.ratelimit)
is checked before every request, and closed by every answer that says the account's budget is
spent (a 429 or a platform's rate-limit code, or a 2xx whose headers say nothing is left):
while it is closed, `request()` raises RateLimited(retry_after_s = what is left) without
sending, so no job on any worker calls that account before the reset.

Extending (issue 13): a metrics fetch or a token refresh is another method on the platform's
class, calling `start_operation()` then `request()`; it gets the deadline, the bearer header,
the error mapping and the redaction for free. `classify()` is where a platform's own
rate-limit headers (X-App-Usage, ...) or error codes become RateLimited / TokenRejected.
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx

from jobctl.domain.redaction import redact
from jobctl.services.platforms.media import MediaFile
from jobctl.services.platforms.metrics import MetricsQuery, PostStats
from jobctl.services.platforms.ratelimit import RateGate, exhausted_for_s, meta_regain_s
from jobctl.services.tls import shared_ssl_context

_EXCERPT = 300
_URL = re.compile(r"https?://\S+")


class PlatformError(Exception):
    """A platform answer the caller must act on; `message` is redacted of the token."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RateLimited(PlatformError):
    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TokenRejected(PlatformError):
    """The access token is expired, revoked or invalid."""


class ContentRejected(PlatformError):
    """The platform refused this content (duplicate, too long, policy): `reason` says why."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class PlatformUnavailable(PlatformError):
    """5xx, a timeout or no connection: worth retrying later."""


@dataclass(frozen=True)
class ClientSettings:
    base_url: str
    total_timeout_s: float = 30.0  # one operation (publish: every request it takes)
    default_rate_wait_s: float = 60.0  # a rate limit that says nothing about when to come back
    linkedin_version: str = "202405"  # LinkedIn-Version header (YYYYMM) of the versioned /rest APIs
    # Shared by every client of an account (the worker's lives in Redis); None: no gate.
    rate_gate: RateGate | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Credentials:
    external_id: str  # X user id, LinkedIn author URN, page / IG user / Threads user id
    access_token: str = field(repr=False)


def same_text(ours: str, theirs: str | None) -> bool:
    """Whether a listed post is ours: platforms rewrite links (X's t.co) and whitespace, so
    URLs are dropped and whitespace collapsed before comparing."""
    if theirs is None:
        return False

    def norm(text: str) -> str:
        return " ".join(_URL.sub("", text).split())

    return norm(ours) == norm(theirs)


def retry_after_s(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Retry-After (seconds or an HTTP date, RFC 9110), X's x-rate-limit-reset (Unix time), or
    Meta's estimated_time_to_regain_access (minutes, X-Business-Use-Case-Usage); None when
    none is usable."""
    now = time.time() if now is None else now
    value = headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(value)
    if value:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, when.timestamp() - now)
    reset = headers.get("x-rate-limit-reset", "").strip()
    if reset.isdigit():
        return max(0.0, float(reset) - now)
    return meta_regain_s(headers)


class PlatformClient(ABC):
    """One account on one platform. Not thread-safe: one per job execution."""

    platform: ClassVar[str]

    def __init__(
        self,
        settings: ClientSettings,
        credentials: Credentials,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.credentials = credentials
        self._owns_client = client is None
        # no proxies or .netrc from the env; the shared TLS context (a client per account and
        # job built its own: ~25 ms of CPU each)
        self._client = client or httpx.Client(trust_env=False, verify=shared_ssl_context())
        self._clock = clock
        self._deadline: float | None = None
        self.requests = 0
        # Called before every request: a job's ctx.check_cancelled, so a sync of many posts shows
        # progress (its lease is renewed) and stops at once when cancelled.
        self.before_request: Callable[[], None] | None = None

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what each platform implements ---------------------------------------------------------

    @abstractmethod
    def publish(self, text: str, image_url: str | None = None) -> str:
        """Post `text` (with the image at `image_url` where the platform needs one); its id."""

    @abstractmethod
    def find_post(self, text: str) -> str | None:
        """The id of the account's recent post with this text, if any (for idempotent retries)."""

    def publish_media(self, text: str, media: MediaFile) -> str:
        """Post `text` with the image `media` attached, through the platform's documented media
        flow (upload then post, or a container); the post's id. Media rules are checked before."""
        raise NotImplementedError(f"{self.platform} cannot publish media")

    def post_metrics(self, query: MetricsQuery) -> list[PostStats]:
        """The account's posts published since `query.since`, with their counts (issue 13; each
        platform's module implements it against its documented metrics API)."""
        raise NotImplementedError(f"{self.platform}: no metrics client")

    def error_reason(self, body: Any) -> str | None:
        """The human reason in the platform's error body (overridden per platform)."""
        return None

    def classify(self, response: httpx.Response, body: Any) -> PlatformError | None:
        """A platform-specific reading of an error answer (Meta's error codes); None: the default."""
        return None

    # -- shared machinery ----------------------------------------------------------------------

    def start_operation(self) -> None:
        """Start one operation's total deadline (publish = one or two requests, a lookup one)."""
        self._deadline = self._clock() + self.settings.total_timeout_s

    def redact(self, text: str) -> str:
        return redact(text, (self.credentials.access_token,))

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credentials.access_token}", "Accept": "application/json"}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request within the operation's deadline; a 2xx answer, else a PlatformError."""
        if self.before_request is not None:
            self.before_request()
        if self._deadline is None:
            self.start_operation()
        assert self._deadline is not None
        remaining = self._deadline - self._clock()
        where = f"{self.platform} {method} {path}"
        if remaining <= 0:
            raise PlatformUnavailable(f"{where}: total deadline of {self.settings.total_timeout_s:g}s spent")
        self.check_gate(where)  # a closed rate-limit gate: RateLimited, nothing sent
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        url = self.settings.base_url.rstrip("/") + path
        self.requests += 1
        try:
            response = self._client.request(method, url, headers=headers, timeout=remaining, **kwargs)
        except httpx.HTTPError as exc:
            raise PlatformUnavailable(self.redact(f"{where}: {type(exc).__name__} (no answer)")) from None
        if 200 <= response.status_code < 300:
            self.note_rate_headers(response)
            return response
        raise self.noted(self._error(where, response), response)

    # -- the shared rate-limit gate (ClientSettings.rate_gate) ---------------------------------

    def check_gate(self, where: str) -> None:
        """Raise RateLimited, before anything is sent, while the account's gate is closed."""
        gate = self.settings.rate_gate
        wait = gate.wait_s(self.platform, self.credentials.external_id) if gate is not None else None
        if wait is not None and wait > 0:
            raise RateLimited(
                f"{where}: not sent: {self.platform} account {self.credentials.external_id} is rate "
                f"limited for {wait:.0f}s more (shared rate-limit gate)",
                wait,
            )

    def rate_limit_wait(self, response: httpx.Response) -> float | None:
        """How long the account must wait by this answer's rate-limit headers, when they say its
        budget is spent (ratelimit.exhausted_for_s; a platform may override); else None."""
        return exhausted_for_s(response.headers, self.settings.default_rate_wait_s)

    def note_rate_headers(self, response: httpx.Response) -> None:
        """A successful answer that spent the last of the budget closes the gate until reset."""
        gate = self.settings.rate_gate
        if gate is None:
            return
        wait = self.rate_limit_wait(response)
        if wait is not None and wait > 0:
            reason = f"{self.platform} {response.request.method} {response.request.url.path}: budget spent"
            gate.close(self.platform, self.credentials.external_id, wait, reason)

    def noted(self, error: PlatformError, response: httpx.Response) -> PlatformError:
        """`error`, after a RateLimited one closed the gate for its wait (or longer, when the
        headers say so): every client of the account then waits, not only this one."""
        if not isinstance(error, RateLimited):
            self.note_rate_headers(response)
            return error
        longer = self.rate_limit_wait(response)
        if longer is not None and longer > error.retry_after_s:
            error = RateLimited(f"{error.message} (its rate-limit headers say {longer:.0f}s)", longer)
        gate = self.settings.rate_gate
        if gate is not None:
            gate.close(self.platform, self.credentials.external_id, error.retry_after_s, error.message[:200])
        return error

    def request_url(self, method: str, url: str, *, bearer: bool, **kwargs: Any) -> httpx.Response:
        """Like `request`, to an absolute URL a platform handed out (LinkedIn's uploadUrl), with
        the bearer header only when `bearer`. Errors name the host and path, never the query
        (upload URLs carry signatures)."""
        if self._deadline is None:
            self.start_operation()
        assert self._deadline is not None
        remaining = self._deadline - self._clock()
        parts = httpx.URL(url)
        where = f"{self.platform} {method} {parts.host}{parts.path}"
        if remaining <= 0:
            raise PlatformUnavailable(f"{where}: total deadline of {self.settings.total_timeout_s:g}s spent")
        self.check_gate(where)
        headers = {**(self.headers() if bearer else {}), **kwargs.pop("headers", {})}
        self.requests += 1
        try:
            response = self._client.request(method, url, headers=headers, timeout=remaining, **kwargs)
        except httpx.HTTPError as exc:
            raise PlatformUnavailable(self.redact(f"{where}: {type(exc).__name__} (no answer)")) from None
        if 200 <= response.status_code < 300:
            self.note_rate_headers(response)
            return response
        raise self.noted(self._error(where, response), response)

    def json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise PlatformUnavailable(f"{self.platform} sent an answer that is not JSON") from None

    def json_object(self, response: httpx.Response) -> dict[str, Any]:
        """The answer's JSON object (metrics reads): anything else is the platform misbehaving."""
        body = self.json(response)
        if not isinstance(body, dict):
            where = f"{self.platform} {response.request.method} {response.request.url.path}"
            raise PlatformUnavailable(f"{where}: the answer is not a JSON object")
        return body

    def _error(self, where: str, response: httpx.Response) -> PlatformError:
        status = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        special = self.classify(response, body)
        if special is not None:
            return special
        reason = self.error_reason(body) or " ".join(response.text[:_EXCERPT].split()) or f"HTTP {status}"
        reason = self.redact(reason)
        if status == 429:
            wait = retry_after_s(response.headers)
            wait = self.settings.default_rate_wait_s if wait is None else wait
            return RateLimited(f"{where}: rate limited (HTTP 429); retry after {wait:g}s", wait)
        if status == 401:
            return TokenRejected(f"{where}: the access token was refused (HTTP 401): {reason}")
        if 400 <= status < 500:
            return ContentRejected(f"{where}: rejected (HTTP {status}): {reason}", reason)
        return PlatformUnavailable(f"{where}: HTTP {status}: {reason}")
