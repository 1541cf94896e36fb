"""Brand learning's call site: the organisation's insights (jobctl.services.analytics.recompute)
recomputed from the newest collection of each of its posts over the learning window, and the new
set stored in place of the old; after every sync that stored metrics, once per burst of syncs of
one organisation (jobctl.services.analytics.coalesce decides which sync runs it).

A learning failure is reported in the sync's result (`learning: "failed: ..."`) and logged, but
does not fail the sync: the metrics are stored, and the next sync recomputes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from jobctl.domain.analytics import PostMetrics
from jobctl.services.analytics.recompute import recompute
from jobctl.store.learning_repo import LearningRepository

log = logging.getLogger("jobctl.analytics")


def recompute_learning(
    organization_id: str, metrics: Sequence[PostMetrics], now: datetime, repo: LearningRepository
) -> str:
    """'recomputed: N insight(s)' or 'failed: <error>'."""
    try:
        learnings = recompute(organization_id, metrics, now, repo=repo)
    except Exception as exc:  # learning must not lose a sync's stored metrics
        log.warning("brand learning failed for %s: %s: %s", organization_id, type(exc).__name__, exc)
        return f"failed: {type(exc).__name__}: {exc}"
    return f"recomputed: {max(0, len(learnings) - 1)} insight(s)"
