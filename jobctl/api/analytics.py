"""Post analytics for the CLI and library users: an organisation's latest metrics per platform
and overall, and its engagement over time (jobctl.domain.analytics_summary)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from jobctl.api.jobs import JobctlAPI
from jobctl.domain.analytics import PostMetrics
from jobctl.domain.analytics_summary import Summary, summarise
from jobctl.domain.content import check_org_id
from jobctl.domain.timeparse import utcnow
from jobctl.store.analytics_repo import AnalyticsRepository


@dataclass
class AnalyticsAPI:
    api: JobctlAPI

    @cached_property
    def repo(self) -> AnalyticsRepository:
        with self.api.backends.errors():
            return AnalyticsRepository(self.api.backends.engine)

    def summary(self, organization_id: str, since: datetime, now: datetime | None = None) -> Summary:
        """Posts collected since `since`: their newest metrics, and engagement over time."""
        org = check_org_id(organization_id)
        with self.api.backends.errors():
            latest = self.repo.latest_per_post(org, since=since)
            history = self.repo.list_metrics(org, since=since)
        return summarise(org, latest, history, since, now or utcnow())

    def metrics(
        self, organization_id: str, since: datetime | None = None, social_account_id: str | None = None
    ) -> list[PostMetrics]:
        """Every collection (one row per post per sync), oldest first: what brand learning reads."""
        with self.api.backends.errors():
            return self.repo.list_metrics(
                check_org_id(organization_id), social_account_id=social_account_id, since=since
            )
