"""`jobctl top`'s overview counts the UNHEALTHY context sources and the social accounts in
NEEDS_REAUTH (Pilot, real Redis and SQLite): the count follows the store on the next refresh of
the last-hour figures, and the warning goes away once none is left."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from textual.widgets import Static
from top_support import add_source, run_top, until

from jobctl.api import JobctlAPI
from jobctl.domain.accounts import AccountStatus, SocialAccount
from jobctl.domain.context import UNHEALTHY_AFTER, SourceStatus
from jobctl.store.accounts_repo import AccountRepository
from jobctl.store.context_repo import ContextRepository
from jobctl.tui.app import TopApp


def warnings(app: TopApp) -> str:
    return str(app.overview_view.query_one("#queue-warnings", Static).render())


async def refreshed(pilot: Any) -> None:
    """One more SQL poll, with the last-hour figures due (the test app has no refresh timer)."""
    app: TopApp = pilot.app
    polls = app.polls
    app.recent_cadence.reset()
    app.refresh_view()
    await until(pilot, lambda: app.polls > polls and app.settled)


def test_overview_counts_unhealthy_sources(top_api: JobctlAPI) -> None:
    repo = ContextRepository(top_api.backends.engine)
    seeded = [s.id for s in repo.list_sources(status=SourceStatus.UNHEALTHY)]
    assert len(seeded) == 1  # top_support.seed makes one

    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        assert app.recent is not None and app.recent.unhealthy_sources == 1
        assert "⚠ 1 context source(s) UNHEALTHY, syncs paused: see `jobctl doctor`" in warnings(app)

        second = add_source(
            top_api, "https://feeds.example/also-gone.xml", failures=UNHEALTHY_AFTER, org="globex"
        )
        await refreshed(pilot)
        assert app.recent is not None and app.recent.unhealthy_sources == 2
        assert "⚠ 2 context source(s) UNHEALTHY" in warnings(app)

        for source_id in (*seeded, second):  # what `jobctl sources enable` does
            repo.set_status(source_id, SourceStatus.ACTIVE, datetime.now(UTC))
        await refreshed(pilot)
        assert app.recent is not None and app.recent.unhealthy_sources == 0
        assert "context source" not in warnings(app)
        assert "no live worker" in warnings(app)  # the queue warning stays: only the sources line went

    run_top(top_api, scenario)


def test_overview_counts_accounts_that_need_reauth(top_api: JobctlAPI) -> None:
    from cryptography.fernet import Fernet

    repo = AccountRepository(top_api.backends.engine, (Fernet.generate_key().decode(),))
    now = datetime.now(UTC)
    for n in (1, 2):
        repo.add_account(
            SocialAccount(f"acc_{n}", "acme", "twitter", "@acme", str(n), AccountStatus.CONNECTED, "tok"), now
        )

    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        assert app.recent is not None and app.recent.reauth_accounts == 0
        assert "social account" not in warnings(app)
        repo.mark_needs_reauth("acc_1", "HTTP 401", now)
        repo.mark_needs_reauth("acc_2", "invalid_grant", now)
        await refreshed(pilot)
        assert app.recent is not None and app.recent.reauth_accounts == 2
        assert "⚠ 2 social account(s) NEEDS_REAUTH: `jobctl accounts reauth-needed`" in warnings(app)
        repo.replace_tokens("acc_1", "tok-2", None, None, now)  # what a refresh / reconnect does
        repo.disable("acc_2", now)
        await refreshed(pilot)
        assert app.recent is not None and app.recent.reauth_accounts == 0
        assert "social account" not in warnings(app)

    run_top(top_api, scenario)
