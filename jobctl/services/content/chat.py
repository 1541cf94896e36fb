"""The chat-completions provider: any OpenAI-compatible `POST {base}/chat/completions` over httpx.

- One request per variation: the prompt carries the brand (voice, tone, hashtag rules), the
  platform's rule as the platform counts it, the topic, the ranked context items (title, link,
  text) and the earlier variations it must differ from.
- An answer that breaks the platform's rules is regenerated once with the problem stated, then
  repaired (shortened: jobctl.services.content.compose.shorten); an answer equal to an earlier
  variation is regenerated. Nothing that breaks a rule leaves this module.
- One total deadline for all of a job's requests, retries and waits included; 429/5xx, Retry-After,
  deferral and the key's handling are jobctl.services.content.endpoint's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from jobctl.domain.errors import JobProcessingError
from jobctl.domain.platform_rules import hashtags_in
from jobctl.services.content.compose import Brief, Budget, Draft, budget, shorten
from jobctl.services.content.endpoint import Endpoint, EndpointSettings, retry_after

__all__ = ["ChatProvider", "ChatSettings", "retry_after"]

NAME = "chat-completions"
_CONTEXT_CHARS = 1500  # per context item in the prompt


@dataclass(frozen=True)
class ChatSettings:
    base_url: str  # ".../v1": requests go to {base_url}/chat/completions
    model: str
    api_key: str | None = field(default=None, repr=False)
    total_timeout_s: float = 120.0
    request_timeout_s: float = 60.0
    max_attempts: int = 4  # per request: the first try and up to three retries
    temperature: float = 0.8


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
        endpoint = EndpointSettings(
            settings.base_url, settings.api_key, settings.total_timeout_s, settings.request_timeout_s,
            settings.max_attempts,
        )  # fmt: skip
        self._endpoint = Endpoint(endpoint, NAME, client=client, sleep=sleep, clock=clock)

    @property
    def requests(self) -> int:
        return self._endpoint.requests

    def close(self) -> None:
        self._endpoint.close()

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
        last = "a repeat"
        for attempt in range(3):
            messages = _messages(
                brief, platform, plan, variation=variation, count=count, earlier=earlier, feedback=feedback
            )
            text = _clean(self._complete(messages))
            problems = plan.violations(text)
            if not problems and text not in earlier:
                return text
            last = str(problems) if problems else "a repeat"
            if problems and attempt >= 1:  # regenerated once already: repair it
                repaired = shorten(text, plan)
                if repaired and plan.fits(repaired) and repaired not in earlier:
                    return repaired
                if repaired and plan.fits(repaired):
                    last = f"{problems}, and shortened it repeats an earlier variation"
            feedback = (
                f"Your answer broke the rules ({'; '.join(problems)}). Write it again, shorter."
                if problems
                else "Your answer repeated an earlier variation. Write a different post."
            )
        raise JobProcessingError(
            f"{NAME} endpoint gave no {platform} post that fits the rules and differs from the others "
            f"after 3 tries (last: {last})"
        )

    # -- HTTP --------------------------------------------------------------------------------------

    def _complete(self, messages: list[dict[str, str]]) -> str:
        s = self.settings
        data = self._endpoint.post(
            "/chat/completions", {"model": s.model, "messages": messages, "temperature": s.temperature}
        )
        return self._content(data)

    @staticmethod
    def _content(data: Any) -> str:
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
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
    learned = "\n".join(brief.guidance.prompt_lines())
    context = "\n\n".join(
        f"[{n}] {r.item.title or '(untitled)'} {r.item.url or ''}\n{r.item.text[:_CONTEXT_CHARS]}"
        for n, r in enumerate(brief.ranking.items, 1)
    )
    user = f"{' '.join(rules)}\nTopic: {brief.topic}\n\nContext:\n{context}\n\n"
    if learned:
        user += f"{learned}\n\n"
    user += f"Write variation {variation + 1} of {count}."
    if earlier:
        user += " It must differ from these earlier variations:\n" + "\n---\n".join(earlier)
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    if feedback:
        messages.append({"role": "user", "content": feedback})
    return messages
