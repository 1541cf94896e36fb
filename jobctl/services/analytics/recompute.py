"""The entry point the analytics sync calls at the end of each sync of an organisation:
recompute its brand learning from the metrics collected, and store the new set in place of the old.

    from jobctl.services.analytics.recompute import recompute
    learnings = recompute(org_id, metrics, now, repo=LearningRepository(engine))

`metrics` is every PostMetrics of the organisation the sync can see (all collections: only the
latest of each post is used; a window such as the last 90 days is the caller's choice). The
returned list is what was stored: the SUMMARY first, then the insights.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from jobctl.domain.analytics import PostMetrics
from jobctl.domain.learning import BrandLearning, LearningConfig
from jobctl.services.analytics.learning import learn
from jobctl.store.learning_repo import LearningRepository

log = logging.getLogger("jobctl.analytics")


def recompute(
    organization_id: str,
    metrics: Sequence[PostMetrics],
    now: datetime,
    *,
    repo: LearningRepository,
    timezone: str | None = None,
    config: LearningConfig | None = None,
) -> list[BrandLearning]:
    """Compute the organisation's learnings from `metrics` and replace its stored set with them.

    Posting hours and weekdays are read in `timezone` (an IANA name), by default the
    organisation's own (`jobctl orgs set ORG --timezone Europe/Paris`), else UTC; the evidence
    says which. Pure computation (jobctl.services.analytics.learning.learn), then one transaction.
    """
    if timezone is None:
        timezone = repo.organization_timezone(organization_id)
    learnings = learn(organization_id, metrics, now, timezone=timezone, config=config)
    repo.replace(organization_id, learnings)
    summary = learnings[0]
    log.info(
        "brand learning for %s: %s insight(s) from %s post(s)",
        organization_id, len(learnings) - 1, summary.evidence.get("posts", 0),
    )  # fmt: skip
    return learnings
