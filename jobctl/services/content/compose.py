"""What every provider shares: the brief it writes from, the drafts it returns, each platform's
budget (length, hashtags) for an organisation, hashtags from terms, and the repair that shortens
a draft until the platform's rules accept it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from jobctl.domain.content import Organization
from jobctl.domain.platform_rules import PlatformRule, hashtags_in, rule_for
from jobctl.services.content.guidance import Guidance
from jobctl.services.content.ranking import Ranking

# Hashtags per post by default: what each platform's own guidance recommends, well under
# Instagram's hard cap of 30. An organisation's `max_hashtags` limit lowers (or raises) it.
DEFAULT_HASHTAGS = {"twitter": 2, "threads": 3, "linkedin": 3, "instagram": 8, "facebook": 2}
_SENTENCE_END = re.compile("(?<=[.!?\u2026\u3002\uff01\uff1f])\\s+|\n+")  # also CJK full stops
_ELLIPSIS = "…"


@dataclass(frozen=True)
class Brief:
    """What a provider writes from: never more than this (the offline provider never invents).
    `guidance`: the organisation's brand-learning insights (empty when it has none)."""

    organization: Organization
    topic: str
    tone: str
    ranking: Ranking
    guidance: Guidance = field(default_factory=Guidance)

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(r.item.id for r in self.ranking.items)


@dataclass(frozen=True)
class Draft:
    body: str
    hashtags: tuple[str, ...]
    context_item_ids: tuple[str, ...]


class Provider(Protocol):
    name: str
    model: str

    def drafts(self, brief: Brief, platform: str, count: int) -> list[Draft]:
        """`count` different drafts for `platform`, each within budget(brief.organization, platform)."""
        ...


@dataclass(frozen=True)
class Budget:
    rule: PlatformRule
    max_chars: int  # the platform's limit, or the organisation's lower one
    max_hashtags: int

    def violations(self, body: str) -> list[str]:
        problems = self.rule.violations(body, max_chars=self.max_chars)
        if (n := len(hashtags_in(body))) > self.max_hashtags:
            problems.append(f"{n} hashtags, over the organization's limit of {self.max_hashtags}")
        return [p for i, p in enumerate(problems) if p not in problems[:i]]

    def fits(self, body: str) -> bool:
        return not self.violations(body)


def budget(org: Organization, platform: str) -> Budget:
    rule = rule_for(platform)
    max_chars = min(rule.max_chars, org.limits.get(platform) or rule.max_chars)
    tags = org.limits.get("max_hashtags", DEFAULT_HASHTAGS[platform])
    if rule.max_hashtags is not None:
        tags = min(tags, rule.max_hashtags)
    return Budget(rule, max_chars, tags)


def sentences(text: str) -> list[str]:
    """A text's sentences, whitespace-normalised; fragments of fewer than 3 words are dropped."""
    out = []
    for part in _SENTENCE_END.split(text):
        sentence = " ".join(part.split())
        if len(sentence.split()) >= 3 or (sentence and len(sentence) >= 12):
            out.append(sentence)
    return out


def hashtag(term: str) -> str:
    """'queues' -> '#Queues'; terms are single words (jobctl.services.content.ranking.key_terms)."""
    word = re.sub(r"\W", "", term)
    return "#" + (word[:1].upper() + word[1:])


def choose_hashtags(
    org: Organization,
    terms: list[str],
    count: int,
    shift: int = 0,
    *,
    prefer: Sequence[str] = (),
    avoid: Sequence[str] = (),
) -> list[str]:
    """The organisation's always-hashtags, then the `prefer`red ones (brand learning's better
    hashtags, in order), then `count` from `terms` (rotated by `shift`); never one of its
    never-hashtags nor one to `avoid` (brand learning's worse ones; an always-hashtag is kept),
    no duplicates (case-insensitive), at most `count` in all."""
    never = {t.lower() for t in org.hashtags_never}
    chosen: list[str] = []
    for tag in org.hashtags_always:
        if tag.lower() not in never and tag.lower() not in {c.lower() for c in chosen}:
            chosen.append(tag)
    never |= {t.lower() for t in avoid}
    rotated = terms[shift % len(terms) :] + terms[: shift % len(terms)] if terms else []
    for tag in [*prefer, *(hashtag(term) for term in rotated)]:
        if len(chosen) >= count:
            break
        if len(tag) > 1 and tag.lower() not in never and tag.lower() not in {c.lower() for c in chosen}:
            chosen.append(tag)
    return chosen[:count]


def shorten(body: str, plan: Budget) -> str:
    """Repair a draft that breaks its budget: drop hashtags beyond the cap (last first), then cut
    whole sentences from the end, then words, ending with an ellipsis. Links are kept when the
    text before them can shrink. Returns a body that fits (possibly empty when nothing fits)."""
    tags = hashtags_in(body)
    while len(tags) > plan.max_hashtags or (
        plan.rule.max_hashtags is not None and len(tags) > plan.rule.max_hashtags
    ):
        last = tags.pop()
        idx = body.rfind(last)
        body = (body[:idx] + body[idx + len(last) :]).rstrip()
    body = re.sub(r"[ \t]+\n", "\n", body).strip()
    if plan.fits(body):
        return body
    parts = _SENTENCE_END.split(body)
    while len(parts) > 1 and not plan.fits(" ".join(parts)):
        parts.pop(-2 if len(parts) > 2 else -1)  # keep the last part: the link and hashtags
    body = " ".join(parts)
    words = body.split(" ")
    while words and not plan.fits(" ".join(words)):
        words.pop()
        if words:
            candidate = " ".join(words).rstrip(".,;:!?") + _ELLIPSIS
            if plan.fits(candidate):
                return candidate
    return " ".join(words)
