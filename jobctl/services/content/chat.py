"""The chat-completions provider: any OpenAI-compatible `POST {base}/chat/completions` over httpx.

- One request per variation: the prompt carries the brand (voice, tone, hashtag rules), the
  platform's rule as the platform counts it, the topic, the ranked context items (title, link,
  text) and the earlier variations it must differ from.
- An answer that breaks the platform's rules is regenerated once with the problem stated, then
  repaired (shortened: jobctl.services.content.compose.shorten); an answer equal to an earlier
  variation is regenerated. Nothing that breaks a rule leaves this module.
- One total deadline for all of a job's requests, retries and waits included. 429 and 5xx (and
  timeouts, connection errors) are retried after Retry-After (seconds or an HTTP date) or a
  short backoff while that fits in the deadline; past it, a 429 or a Retry-After becomes a
  JobDeferredError carrying the wait, anything else a retryable JobProcessingError. 401/403
  and other 4xx are permanent (retrying cannot fix a key or a request).
- The API key travels only in the Authorization header; every message built from a response
  is redacted of it, and ChatSettings does not print it.
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
from jobctl.domain.platform_rules import hashtags_in
from jobctl.domain.redaction import redact
from jobctl.services.content.compose import Brief, Budget, Draft, budget, shorten

NAME = "chat-completions"
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_CONTEXT_CHARS = 1500  # per context item in the prompt
_EXCERPT = 200


@dataclass(frozen=True)
class ChatSettings:
    base_url: str  # ".../v1": requests go to {base_url}/chat/completions
    model: str
    api_key: str | None = field(default=None, repr=False)
    total_timeout_s: float = 120.0
    request_timeout_s: float = 60.0
    max_attempts: int = 4  # per request: the first try and up to three retries
    temperature: float = 0.8


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


class ChatProvider:
    name = NAME

    def __init__(
        self,
        settings: ChatSettings,
        *,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.model = settings.model
        self._owns_client = client is None
        self._client = client or httpx.Client(trust_env=False)  # no proxies or .netrc from the environment
        self._sleep = sleep or time.sleep
        self._clock = clock
        self._deadline: float | None = None
        self.requests = 0  # sent, retries included (tests and logs read it)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # -- drafts ----------------------------------------------------------------------------------

    def drafts(self, brief: Brief, platform: str, count: int) -> list[Draft]:
        plan = budget(brief.organization, platform)
        out: list[Draft] = []
        for variation in range(count):
            earlier = [d.body for d in out]
            body = self._one(brief, platform, plan, variation=variation, count=count, earlier=earlier)
            out.append(Draft(body, tuple(hashtags_in(body)), brief.item_ids))
        return out

    def _one(
        self, brief: Brief, platform: str, plan: Budget, *, variation: int, count: int, earlier: list[str]
    ) -> str:
        feedback: str | None = None
        text = ""
        for attempt in range(3):
            messages = _messages(
                brief, platform, plan, variation=variation, count=count, earlier=earlier, feedback=feedback
            )
            text = _clean(self._complete(messages))
            problems = plan.violations(text)
            if not problems and text not in earlier:
                return text
            if problems and attempt >= 1:  # regenerated once already: repair it
                repaired = shorten(text, plan)
                if repaired and plan.fits(repaired) and repaired not in earlier:
                    return repaired
            feedback = (
                f"Your answer broke the rules ({'; '.join(problems)}). Write it again, shorter."
                if problems
                else "Your answer repeated an earlier variation. Write a different post."
            )
        raise JobProcessingError(
            f"{NAME} endpoint gave no {platform} post that fits the rules and differs from the others "
            f"after 3 tries (last: {plan.violations(text) or 'a repeat'})"
        )

    # -- HTTP --------------------------------------------------------------------------------------

    def _remaining(self) -> float:
        if self._deadline is None:
            self._deadline = self._clock() + self.settings.total_timeout_s
        return self._deadline - self._clock()

    def _redact(self, text: str) -> str:
        key = self.settings.api_key
        return redact(text, (key,) if key else ())

    def _complete(self, messages: list[dict[str, str]]) -> str:
        s = self.settings
        headers = {"Content-Type": "application/json"}
        if s.api_key:
            headers["Authorization"] = f"Bearer {s.api_key}"
        body = {"model": s.model, "messages": messages, "temperature": s.temperature}
        url = s.base_url.rstrip("/") + "/chat/completions"
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
                problem = f"{type(exc).__name__} from {NAME} endpoint"
            else:
                if response.status_code == 200:
                    return self._content(response)
                if response.status_code not in _RETRY_STATUS:
                    raise self._refused(response)
                wait = retry_after(response.headers.get("Retry-After"))
                problem = f"{NAME} endpoint answered HTTP {response.status_code}"
                if response.status_code == 429 and wait is None:
                    wait = 2.0**attempt
            delay = wait if wait is not None else min(2.0 ** (attempt - 1), 8.0)
            if attempt == s.max_attempts or delay >= self._remaining():
                if wait is not None:
                    raise JobDeferredError(f"{problem}; retry after {wait:g}s", retry_after_s=wait)
                raise JobProcessingError(f"{problem} after {attempt} attempt(s)")
            self._sleep(delay)
        raise JobProcessingError(
            f"{NAME} endpoint did not answer within the total deadline of {s.total_timeout_s:g}s"
        )

    def _refused(self, response: httpx.Response) -> PermanentJobError:
        status = response.status_code
        if status in (401, 403):
            return PermanentJobError(
                f"{NAME} endpoint refused the API key (HTTP {status}): set JOBCTL_CONTENT_API_KEY "
                "(or [content] api_key) to a valid key"
            )
        excerpt = self._redact(" ".join(response.text[:_EXCERPT].split()))
        return PermanentJobError(f"{NAME} endpoint refused the request (HTTP {status}): {excerpt}")

    def _content(self, response: httpx.Response) -> str:
        try:
            data: Any = response.json()
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise JobProcessingError(
                f"{NAME} endpoint sent an answer without choices[0].message.content ({type(exc).__name__})"
            ) from None
        if not isinstance(content, str) or not content.strip():
            raise JobProcessingError(f"{NAME} endpoint sent an empty answer")
        return content


def _clean(text: str) -> str:
    """The post itself: no surrounding whitespace, quotes or code fence."""
    text = text.strip()
    if text.startswith("```") and text.endswith("```"):
        text = text.strip("`").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'“”":
        text = text[1:-1].strip()
    return text.replace("\r\n", "\n")


def _messages(
    brief: Brief,
    platform: str,
    plan: Budget,
    *,
    variation: int,
    count: int,
    earlier: list[str],
    feedback: str | None,
) -> list[dict[str, str]]:
    org = brief.organization
    system = (
        f"You write social media posts for {org.name}. Tone: {brief.tone}."
        + (f" Brand voice: {org.brand_voice}." if org.brand_voice else "")
        + " Use only facts stated in the context below; never invent facts, numbers, names or quotes."
        " Reply with the text of the post only."
    )
    counting = (
        " as X counts them (every URL counts 23, CJK characters and emoji count 2)"
        if plan.rule.weighted
        else ""
    )
    rules = [f"Platform: {platform}. At most {plan.max_chars} characters{counting}."]
    rules.append(f"At most {plan.max_hashtags} hashtags.")
    if org.hashtags_always:
        rules.append(f"Always include: {' '.join(org.hashtags_always)}.")
    if org.hashtags_never:
        rules.append(f"Never use: {' '.join(org.hashtags_never)}.")
    context = "\n\n".join(
        f"[{n}] {r.item.title or '(untitled)'} {r.item.url or ''}\n{r.item.text[:_CONTEXT_CHARS]}"
        for n, r in enumerate(brief.ranking.items, 1)
    )
    user = f"{' '.join(rules)}\nTopic: {brief.topic}\n\nContext:\n{context}\n\n"
    user += f"Write variation {variation + 1} of {count}."
    if earlier:
        user += " It must differ from these earlier variations:\n" + "\n---\n".join(earlier)
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    if feedback:
        messages.append({"role": "user", "content": feedback})
    return messages
