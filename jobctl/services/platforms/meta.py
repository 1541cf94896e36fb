"""What Meta's Graph APIs share (Facebook Pages, Instagram, Threads): their error body
`{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}` and its codes.

- code 190 (OAuthException: expired or invalid token) and 102 (session) -> TokenRejected, even
  when the HTTP status is 400;
- codes 4, 17, 32, 613 and 80001-80014 (app, user, page and business-use-case rate limits) ->
  RateLimited, even on HTTP 400 (Meta gives no Retry-After: the default wait applies);
- any other 4xx -> ContentRejected with the error's message.
https://developers.facebook.com/docs/graph-api/guides/error-handling

Rate-limit headers (X-App-Usage, X-Business-Use-Case-Usage and its
estimated_time_to_regain_access) are read by base.retry_after_s and the shared gate
(jobctl.services.platforms.ratelimit). https://developers.facebook.com/docs/graph-api/overview/rate-limiting

Lists (`/{id}/posts`, `/{id}/media`, `/{id}/threads`) page with cursors: `paging.cursors.after`
while `paging.next` is present (`list_edge`).
"""

from __future__ import annotations

from typing import Any

import httpx

from jobctl.services.platforms.base import (
    ContentRejected,
    PlatformClient,
    PlatformError,
    RateLimited,
    TokenRejected,
    retry_after_s,
    same_text,
)
from jobctl.services.platforms.metrics import MetricsQuery, after_cursor, unix

TOKEN_CODES = frozenset({102, 190})
RATE_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
LOOKUP_COUNT = 20


class MetaClient(PlatformClient):
    """A Graph API client: form-encoded POSTs, `{"id"}` answers, Meta's error codes."""

    def error_reason(self, body: Any) -> str | None:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        return None

    def classify(self, response: httpx.Response, body: Any) -> PlatformError | None:
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        reason = self.redact(self.error_reason(body) or f"HTTP {response.status_code}")
        where = f"{self.platform} {response.request.method} {response.request.url.path}"
        if code in TOKEN_CODES:
            return TokenRejected(f"{where}: the access token was refused (code {code}): {reason}")
        if code in RATE_CODES:
            wait = retry_after_s(response.headers)
            wait = self.settings.default_rate_wait_s if wait is None else wait
            return RateLimited(f"{where}: rate limited (code {code}); retry after {wait:g}s", wait)
        return None

    def post_id(self, response: httpx.Response) -> str:
        body = self.json(response)
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            from jobctl.services.platforms.base import PlatformUnavailable

            raise PlatformUnavailable(f"{self.platform} answered without an id")
        return str(body["id"])

    def list_edge(self, path: str, fields: str, query: MetricsQuery) -> list[dict[str, Any]]:
        """The objects of a list edge published since `query.since` (the API's `since`, Unix
        seconds), following `after` cursors, at most `query.max_posts`."""
        params: dict[str, Any] = {"fields": fields, "limit": min(100, max(1, query.page_size))}
        if query.since is not None:
            params["since"] = unix(query.since)
        out: list[dict[str, Any]] = []
        while len(out) < query.max_posts:
            self.start_operation()
            body = self.json_object(self.request("GET", path, params=params))
            out += [o for o in (body.get("data") or []) if isinstance(o, dict) and o.get("id")]
            after = after_cursor(body)
            if after is None:
                break
            params["after"] = after
        return out[: query.max_posts]

    def find_in(self, path: str, field: str, text: str) -> str | None:
        """The id of the first listed object at `path` whose `field` is `text`."""
        params = {"fields": f"id,{field}", "limit": LOOKUP_COUNT}
        body = self.json(self.request("GET", path, params=params))
        for post in (body.get("data") or []) if isinstance(body, dict) else []:
            if same_text(text, post.get(field)):
                return str(post["id"])
        return None

    def wait_for_container(self, container: str, field: str, detail: str, poll_s: float = 1.0) -> None:
        """Wait until a media container is FINISHED before publishing it (Instagram's
        `GET /{container}?fields=status_code,status`, Threads' `?fields=status,error_message`): the
        platform fetches the image URL in the background, and publishing an IN_PROGRESS container
        fails. ERROR / EXPIRED are rejections; running out of the deadline is retryable (a retry
        looks the post up first, then makes a new container).
        https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-container
        https://developers.facebook.com/docs/threads/troubleshooting#publishing-does-not-return-a-media-id
        """
        import time

        while True:
            body = self.json(self.request("GET", f"/{container}", params={"fields": f"{field},{detail}"}))
            status = str(body.get(field) or "") if isinstance(body, dict) else ""
            if status in ("FINISHED", "PUBLISHED") or not status:
                return  # no status field: an API version without it; publishing will tell
            if status in ("ERROR", "EXPIRED"):
                said = body.get(detail) if isinstance(body, dict) else None
                reason = self.redact(f"media container {status}" + (f": {said}" if said else ""))
                raise ContentRejected(f"{self.platform} GET /{container}: {reason}", reason)
            time.sleep(poll_s)  # IN_PROGRESS; request() gives up once the deadline is spent
