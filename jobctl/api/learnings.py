"""Brand learning for the CLI (and the HTTP API later): an organisation's latest insights, and
when there are none, why (never recomputed, no metrics, too few posts, nothing significant)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from jobctl.api.jobs import JobctlAPI
from jobctl.domain.content import check_org_id
from jobctl.domain.learning import BrandLearning, LearningKind
from jobctl.store.learning_repo import LearningRepository

NOT_COMPUTED = "not_computed"


@dataclass(frozen=True)
class LearningsView:
    """One organisation's latest set: its SUMMARY (None: never recomputed) and its insights."""

    organization_id: str
    summary: BrandLearning | None
    insights: list[BrandLearning]

    @property
    def reason(self) -> str | None:
        """Why there are no insights (None when there are some)."""
        if self.insights:
            return None
        if self.summary is None:
            return NOT_COMPUTED
        value = self.summary.evidence.get("reason")
        return str(value) if value else None

    @property
    def explanation(self) -> str:
        if self.summary is None:
            org = self.organization_id
            return (
                f"no brand learning for {org} yet: it is recomputed at the end of each sync-analytics "
                f"of the organization (`jobctl enqueue sync-analytics --org {org}`)"
            )
        return self.summary.insight

    def to_json(self) -> dict[str, Any]:
        s = self.summary
        return {
            "organization_id": self.organization_id,
            "computed_at": s.created_at.isoformat() if s else None,
            "period_start": s.period_start.isoformat() if s and s.period_start else None,
            "period_end": s.period_end.isoformat() if s and s.period_end else None,
            "reason": self.reason,
            "explanation": self.explanation,
            "summary": s.evidence if s else None,
            "insights": [i.to_json() for i in self.insights],
        }


@dataclass
class LearningAPI:
    api: JobctlAPI

    @cached_property
    def repo(self) -> LearningRepository:
        with self.api.backends.errors():
            return LearningRepository(self.api.backends.engine)

    def latest(self, organization_id: str) -> LearningsView:
        org = check_org_id(organization_id)
        rows = self.repo.latest(org)
        summary = next((r for r in rows if r.kind is LearningKind.SUMMARY), None)
        return LearningsView(org, summary, [r for r in rows if r.is_insight])
