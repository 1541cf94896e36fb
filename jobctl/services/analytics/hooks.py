"""Brand learning's call site: every sync that stored metrics asks for the organisation's
insights to be recomputed.

`recompute_learning(organization_id, metrics)` calls
`jobctl.services.analytics.learning.recompute(organization_id, metrics)` when that module
exists (brand learning, built on branch `learning`), passing the newest collection of each of
the organisation's posts over the learning window. Without the module it does nothing and says
so ("not installed"). A learning failure is reported in the sync's result and logged, but does
not fail the sync: the metrics are stored, and the next sync recomputes.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence

from jobctl.domain.analytics import PostMetrics

log = logging.getLogger("jobctl.analytics")
LEARNING_MODULE = "jobctl.services.analytics.learning"


def recompute_learning(organization_id: str, metrics: Sequence[PostMetrics]) -> str:
    """'recomputed', 'not installed', or 'failed: <error>'."""
    try:
        module = importlib.import_module(LEARNING_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name == LEARNING_MODULE:
            return "not installed"
        raise
    recompute = getattr(module, "recompute", None)
    if not callable(recompute):
        return "not installed"
    try:
        recompute(organization_id, list(metrics))
    except Exception as exc:  # learning must not lose a sync's stored metrics
        log.warning("brand learning failed for %s: %s: %s", organization_id, type(exc).__name__, exc)
        return f"failed: {type(exc).__name__}: {exc}"
    return "recomputed"
