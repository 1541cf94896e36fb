"""The offline provider: extractive posts built only from the organisation's context items.

Nothing is written that the context items do not say. A variation is: the best sentences for the
topic (BM25 over the sentences of the ranked items), whole sentences added while the platform's
budget allows (a lead sentence too long for it is cut at a word, with an ellipsis), the link of
the item the lead sentence comes from, and hashtags from key terms (the topic's words, then the
items' frequent terms) within the organisation's hashtag rules. Variations differ by their lead
sentence, their layout (with or without the item's title) and their hashtags; the provider
returns only drafts that differ, and fails clearly when the context cannot give enough.
Labels such as "Source:" are the only words of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from jobctl.domain.context import ItemRecord
from jobctl.domain.errors import PermanentJobError
from jobctl.domain.platform_rules import hashtags_in
from jobctl.services.content.compose import Brief, Budget, Draft, budget, choose_hashtags, sentences
from jobctl.services.content.ranking import key_terms, rank_sentences, tokenize

MODEL = "extractive-v1"
_MAX_SENTENCES = {"twitter": 2, "threads": 3, "linkedin": 5, "instagram": 4, "facebook": 4}
_POOL = 40  # candidate sentences kept, best first
_ELLIPSIS = "…"
_INLINE_TAG = re.compile(r"(?<![\w&#])#(\w*[^\W\d]\w*)")


@dataclass(frozen=True)
class _Sentence:
    text: str
    item: ItemRecord


class OfflineProvider:
    name = "offline"
    model = MODEL

    def drafts(self, brief: Brief, platform: str, count: int) -> list[Draft]:
        plan = budget(brief.organization, platform)
        pool = _pool(brief)
        if not pool:
            raise PermanentJobError(
                f"the context items of organization {brief.organization.id!r} have no usable sentences "
                "for an offline post: add a source with more text (`jobctl sources add`)"
            )
        used = [r.item for r in brief.ranking.items]
        texts = [f"{i.title or ''} {i.text}" for i in used]
        terms = key_terms(brief.topic, texts)
        prefer = _relevant(brief.guidance.preferred_hashtags, [brief.topic, *texts])
        out: list[Draft] = []
        bodies: set[str] = set()
        for body, lead in _candidates(pool, terms, plan, platform, brief, prefer=prefer):
            if body in bodies or not plan.fits(body):
                continue
            bodies.add(body)
            out.append(Draft(body, tuple(hashtags_in(body)), brief.item_ids or (lead.item.id,)))
            if len(out) == count:
                return out
        if not out:
            raise PermanentJobError(
                f"no {platform} post fits in {plan.max_chars} characters with the context of organization "
                f"{brief.organization.id!r}: raise its {platform} limit, or add sources with shorter text"
            )
        raise PermanentJobError(
            f"the context of organization {brief.organization.id!r} gives only {len(out)} different "
            f"{platform} post(s), {count} were asked: add sources, or ask for fewer variations"
        )


def _pool(brief: Brief) -> list[_Sentence]:
    """Candidate sentences, best for the topic first (ties: better-ranked item, earlier sentence)."""
    found: list[tuple[int, int, _Sentence]] = []
    for rank, ranked in enumerate(brief.ranking.items):
        for pos, text in enumerate(sentences(ranked.item.text)):
            # Inline hashtags become words: the post's hashtags are chosen, within the rules.
            found.append((rank, pos, _Sentence(_INLINE_TAG.sub(r"\1", text), ranked.item)))
    if not found:
        return []
    scores = rank_sentences(brief.topic, [s.text for _r, _p, s in found])
    order = sorted(range(len(found)), key=lambda k: (-scores[k], found[k][0], found[k][1]))
    unique: dict[str, _Sentence] = {}
    for k in order:
        unique.setdefault(found[k][2].text, found[k][2])
    return list(unique.values())[:_POOL]


def _relevant(tags: tuple[str, ...], texts: list[str]) -> list[str]:
    """The brand learning's better hashtags whose word the topic or the context uses: a proven
    hashtag is preferred, but never one that would bring in a subject the context lacks."""
    words = {w for t in texts for w in tokenize(t)}
    return [t for t in tags if t.lstrip("#").lower() in words]


def _candidates(
    pool: list[_Sentence], terms: list[str], plan: Budget, platform: str, brief: Brief, *, prefer: list[str]
) -> Iterator[tuple[str, _Sentence]]:
    """Bodies in the order variations take them: lead sentence, then layout, then hashtags."""
    n = len(pool)
    for round_ in range(4):
        for lead in range(n):
            for titled in (False, True):
                shift = lead + round_ * 3
                body = _compose(
                    pool,
                    lead,
                    titled=titled,
                    shift=shift,
                    terms=terms,
                    plan=plan,
                    platform=platform,
                    brief=brief,
                    prefer=prefer,
                )
                if body:
                    yield body, pool[lead]


def _compose(
    pool: list[_Sentence],
    lead: int,
    *,
    titled: bool,
    shift: int,
    terms: list[str],
    plan: Budget,
    platform: str,
    brief: Brief,
    prefer: list[str],
) -> str | None:
    first = pool[lead]
    title = (first.item.title or "").strip()
    if titled and (not title or title in first.text):
        return None
    all_tags = choose_hashtags(
        brief.organization, terms, plan.max_hashtags, shift,
        prefer=prefer, avoid=brief.guidance.avoided_hashtags,
    )  # fmt: skip
    # What gives way when the budget is tight: first the hashtags, then the link.
    for link, tags in ((first.item.url, all_tags), (first.item.url, []), (None, all_tags), (None, [])):
        body = _fill(
            pool, lead, title=title if titled else None, link=link, tags=tags, plan=plan, platform=platform
        )
        if body is not None:
            return body
    return None


def _fill(
    pool: list[_Sentence],
    lead: int,
    *,
    title: str | None,
    link: str | None,
    tags: list[str],
    plan: Budget,
    platform: str,
) -> str | None:
    """The lead sentence (cut if it must be) and then whole sentences while the budget allows."""

    def render(texts: list[str]) -> str:
        return _render(platform, title, " ".join(texts), link, tags)

    chosen = [pool[lead].text]
    if not plan.fits(render(chosen)):
        cut = _cut_to_fit(pool[lead].text, lambda t: plan.fits(render([t])))
        return render([cut]) if cut is not None else None
    for extra in pool[lead + 1 :] + pool[:lead]:
        if len(chosen) >= _MAX_SENTENCES[platform]:
            break
        if plan.fits(render([*chosen, extra.text])):
            chosen.append(extra.text)
    return render(chosen)


def _cut_to_fit(text: str, fits: object) -> str | None:
    """The longest prefix of whole words of `text`, plus an ellipsis, that `fits`."""
    assert callable(fits)
    words = text.split()
    lo, hi, best = 1, len(words) - 1, None
    while lo <= hi:  # the count fits monotonically in the number of words: bisect
        mid = (lo + hi) // 2
        candidate = " ".join(words[:mid]).rstrip(".,;:!?") + _ELLIPSIS
        if fits(candidate):
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best


def _render(platform: str, title: str | None, text: str, link: str | None, tags: list[str]) -> str:
    short = platform in ("twitter", "threads")
    sep = " " if short else "\n\n"
    parts = [f"{title}:" if title and short else title, text]
    if link:
        parts.append(link if short else f"Source: {link}")
    if tags:
        parts.append(" ".join(tags))
    return sep.join(p for p in parts if p)
