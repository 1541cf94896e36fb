"""Social accounts for the CLI and library users: add, list, show, remove.

Tokens come in as arguments of `add` (the CLI reads them from an environment variable or stdin)
and never come out: every record's `to_json()` says only whether a token is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from jobctl.api.jobs import JobctlAPI
from jobctl.domain.accounts import (
    AccountInputError,
    AccountNotFoundError,
    AccountStatus,
    PublishAttempt,
    SocialAccount,
    check_external_id,
    check_platform,
    new_account_id,
)
from jobctl.domain.content import check_org_id
from jobctl.domain.timeparse import utcnow
from jobctl.scheduler import defaults
from jobctl.store.accounts_repo import AccountRepository


@dataclass(frozen=True)
class NewAccount:
    organization_id: str
    platform: str
    handle: str
    external_id: str
    access_token: str
    refresh_token: str | None = None
    token_expires_at: datetime | None = None

    def __repr__(self) -> str:  # the dataclass repr would print the tokens
        return f"NewAccount({self.organization_id!r}, {self.platform!r}, {self.handle!r})"


def connected_organization_owners(api: JobctlAPI) -> list[defaults.Owner]:
    """For `schedules install-defaults`: each organisation with a connected account owns the
    hourly analytics sync and token-refresh sweep (jobctl.scheduler.defaults)."""
    with api.backends.errors():
        accounts = AccountRepository(api.backends.engine).list_accounts()
    orgs = sorted({a.organization_id for a in accounts if a.status == AccountStatus.ACTIVE})
    return [defaults.organization_owner(org) for org in orgs]


@dataclass
class AccountsAPI:
    api: JobctlAPI

    @cached_property
    def repo(self) -> AccountRepository:
        with self.api.backends.errors():
            return AccountRepository(self.api.backends.engine)

    def add(self, new: NewAccount) -> SocialAccount:
        token = new.access_token.strip()
        if not token:
            raise AccountInputError("the access token is empty")
        if any(c.isspace() for c in token):
            raise AccountInputError("the access token contains whitespace (one token, on one line)")
        handle = new.handle.strip()
        if not handle or len(handle) > 200:
            raise AccountInputError("the handle must be 1-200 characters")
        account = SocialAccount(
            id=new_account_id(), organization_id=check_org_id(new.organization_id),
            platform=check_platform(new.platform), handle=handle,
            external_id=check_external_id(new.external_id), status=AccountStatus.ACTIVE,
            access_token=token, refresh_token=(new.refresh_token or "").strip() or None,
            token_expires_at=new.token_expires_at,
        )  # fmt: skip
        with self.api.backends.errors():
            added = self.repo.add_account(account, utcnow())
        self._schedules().install_defaults_for(defaults.organization_owner(added.organization_id))
        return added

    def _schedules(self) -> Any:
        from jobctl.api.schedules import ScheduleAPI

        return ScheduleAPI(self.api)

    def list_accounts(
        self, organization_id: str | None = None, platform: str | None = None
    ) -> list[SocialAccount]:
        wanted = check_platform(platform) if platform else None
        with self.api.backends.errors():
            return self.repo.list_accounts(organization_id, wanted)

    def get(self, account_id: str) -> SocialAccount:
        with self.api.backends.errors():
            account = self.repo.get_account(account_id)
        if account is None:
            raise AccountNotFoundError(account_id)
        return account

    def publish_attempt(self, content_item_id: str) -> PublishAttempt | None:
        """The item's publish attempt (the account it went to, the platform's rejection reason)."""
        with self.api.backends.errors():
            return self.repo.get_attempt(content_item_id)

    def remove(self, account_id: str) -> None:
        """Delete an account; the organisation's last connected one takes its hourly analytics
        sync and token-refresh schedules with it."""
        with self.api.backends.errors():
            account = self.repo.get_account(account_id)
            removed = self.repo.remove_account(account_id)
        if not removed or account is None:
            raise AccountNotFoundError(account_id)
        org = account.organization_id
        with self.api.backends.errors():
            left = [a for a in self.repo.list_accounts(org) if a.status == AccountStatus.ACTIVE]
        if not left:
            self._schedules().remove_defaults_for(defaults.ORGANIZATION, org, defaults.ACCOUNT_TEMPLATES)
