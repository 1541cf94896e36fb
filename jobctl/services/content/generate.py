"""generate-content: topic + the organisation's brand + its most relevant context items ->
`variations_per_platform` different variations per platform, each within that platform's rules,
stored as DRAFT ContentItems; the job result is a ContentGenerationResult.

The organisation's current brand-learning insights (`learnings`) guide it: better hashtags are
preferred, worse ones avoided, the chat provider's prompt carries the insights, and the result
says which were used and the best posting time (jobctl.services.content.guidance).

Posts are grounded in the organisation's context: with no context items (or none from the
sources the payload names) the job fails at once, saying which source to add. Whatever the
provider, nothing that breaks a platform rule or repeats another variation is ever stored: the
providers repair or regenerate, and this service checks again before it writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from jobctl.domain.content import ContentGenerationResult, GeneratedItem, NewContent, Organization
from jobctl.domain.errors import PermanentJobError
from jobctl.domain.learning import BrandLearning
from jobctl.domain.payloads import GenerateContentPayload
from jobctl.services.content.compose import Brief, Provider, budget
from jobctl.services.content.guidance import Guidance
from jobctl.services.content.ranking import rank_items
from jobctl.store.content_repo import ContentRepository

log = logging.getLogger("jobctl.content")
RANKED_ITEMS = 5  # context items a generation draws on


def no_context_error(organization_id: str, source_ids: list[str] | None) -> PermanentJobError:
    scope = f" from the sources {', '.join(source_ids)}" if source_ids else ""
    return PermanentJobError(
        f"organization {organization_id!r} has no context items{scope} to write from: "
        f"add a source for organization {organization_id} "
        f"(`jobctl sources add rss URL --org {organization_id}`) and sync it, then retry"
    )


def generate_content(
    repo: ContentRepository,
    payload: GenerateContentPayload,
    provider: Provider,
    *,
    job_id: str | None,
    now: Callable[[], datetime],
    check: Callable[[], None] = lambda: None,
    learnings: Sequence[BrandLearning] = (),
) -> ContentGenerationResult:
    """Rank, write, check and store; `check` is called between platforms (cancel, progress)."""
    org = repo.get_org(payload.organization_id) or Organization.defaults(payload.organization_id)
    items = repo.context_items_for(org.id, payload.context_source_ids)
    if not items:
        raise no_context_error(org.id, payload.context_source_ids)
    ranking = rank_items(payload.topic, items, limit=RANKED_ITEMS)
    if not ranking.matched:
        log.info("no context item of %s shares a term with the topic; using the newest", org.id)
    guidance = Guidance.from_learnings(learnings)
    brief = Brief(org, payload.topic, payload.tone or org.tone, ranking, guidance)
    new: list[NewContent] = []
    for platform in dict.fromkeys(payload.platforms):
        check()
        drafts = provider.drafts(brief, platform, payload.variations_per_platform)
        plan = budget(org, platform)
        bodies: set[str] = set()
        for variation, draft in enumerate(drafts):
            if problems := plan.violations(draft.body):
                raise PermanentJobError(
                    f"{provider.name} wrote a {platform} post that breaks its rules "
                    f"({'; '.join(problems)}); nothing was stored"
                )
            if draft.body in bodies:
                raise PermanentJobError(f"{provider.name} wrote two identical {platform} posts; none stored")
            bodies.add(draft.body)
            new.append(
                NewContent(
                    platform, variation, draft.body, draft.hashtags, draft.context_item_ids,
                    provider.name, provider.model,
                )
            )  # fmt: skip
    records = repo.replace_job_content(org.id, job_id, payload.topic, new, now())
    generated = tuple(
        GeneratedItem(
            r.id, r.platform, r.variation,
            characters=budget(org, r.platform).rule.count(r.body),
            limit=budget(org, r.platform).max_chars,
        )
        for r in records
    )  # fmt: skip
    used = tuple(dict.fromkeys(i for n in new for i in n.context_item_ids))
    return ContentGenerationResult(
        organization_id=org.id,
        organization_known=org.known,
        topic=payload.topic,
        provider=provider.name,
        model=provider.model,
        items=generated,
        context_items_used=used,
        learnings=guidance.to_json([t for n in new for t in n.hashtags]) if guidance else None,
    )
