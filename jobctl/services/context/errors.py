"""Errors of fetching and parsing context sources (one-line messages, never credentials)."""

from __future__ import annotations

from jobctl.domain.errors import JobProcessingError


class FetchError(JobProcessingError):
    """A fetch failed: retryable unless a subclass says otherwise."""

    title = "fetch failed"


class UnsafeURLError(FetchError):
    """The URL's scheme or an address it resolves to is refused (SSRF guard)."""

    title = "refused URL"
    retryable = False


class ResponseTooLargeError(FetchError):
    title = "response too large"
    retryable = False


class FetchTimeoutError(FetchError):
    title = "fetch timed out"


class UnsupportedContentTypeError(FetchError):
    title = "unsupported content type"
    retryable = False


class HTTPStatusError(FetchError):
    title = "HTTP error status"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = status >= 500 or status == 429


class NotAFeedError(FetchError):
    """The body is not RSS, Atom or JSON Feed (an HTML page, empty body, JSON error)."""

    title = "not a feed"
    retryable = False
