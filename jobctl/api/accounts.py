"""Social accounts for the CLI and library users: add, list, show, disable, reconnect, remove,
and the keys of their tokens at rest (encrypt-existing, rotate-key).

Tokens come in as arguments of `add` / `reconnect` (the CLI reads them from a file, stdin or an
environment variable) and never come out: the reads here return AccountInfo (no tokens, so no
key is needed to list or show), whose `to_json()` says only whether a token is set. The keys
are Settings.token_keys (JOBCTL_TOKEN_KEYS), handed to the repository, which alone encrypts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from jobctl.api.jobs import JobctlAPI
from jobctl.domain.accounts import (
    AccountInfo,
    AccountInputError,
    AccountNotFoundError,
    AccountStatus,
    PublishAttempt,
    SocialAccount,
    check_external_id,
    check_platform,
    new_account_id,
    parse_scopes,
)
from jobctl.domain.content import check_org_id
from jobctl.domain.timeparse import utcnow
from jobctl.scheduler import defaults
from jobctl.store.accounts_repo import AccountRepository, ReencryptReport
from jobctl.store.token_cipher import TokenCipher, TokenKeyError, new_key

__all__ = ["AccountsAPI", "NewAccount", "ReencryptReport", "TokenKeyError", "new_token_key"]


def new_token_key() -> str:
    """A fresh Fernet key for JOBCTL_TOKEN_KEYS (`jobctl accounts new-key`)."""
    return new_key()


@dataclass(frozen=True)
class NewAccount:
    organization_id: str
    platform: str
    handle: str
    external_id: str
    access_token: str
    refresh_token: str | None = None
    token_expires_at: datetime | None = None
    scopes: str | None = None  # space- or comma-separated

    def __repr__(self) -> str:  # the dataclass repr would print the tokens
        return f"NewAccount({self.organization_id!r}, {self.platform!r}, {self.handle!r})"


def _token(value: str | None, what: str) -> str:
    token = (value or "").strip()
    if not token:
        raise AccountInputError(f"the {what} is empty")
    if any(c.isspace() for c in token):
        raise AccountInputError(f"the {what} contains whitespace (one token, on one line)")
    return token


def _optional(value: str | None, what: str) -> str | None:
    return _token(value, what) if (value or "").strip() else None


def _status(value: str | AccountStatus | None) -> AccountStatus | None:
    if value is None:
        return None
    try:
        return AccountStatus(str(value).strip().upper())
    except ValueError:
        names = ", ".join(s.value for s in AccountStatus)
        raise AccountInputError(f"unknown account status {value!r} (use {names})") from None


def connected_organization_owners(api: JobctlAPI) -> list[defaults.Owner]:
    """For `schedules install-defaults`: each organisation with a connected account owns the
    hourly analytics sync and token-refresh sweep (jobctl.scheduler.defaults)."""
    with api.backends.errors():
        accounts = AccountRepository(api.backends.engine).list_info()
    orgs = sorted({a.organization_id for a in accounts if a.status == AccountStatus.CONNECTED})
    return [defaults.organization_owner(org) for org in orgs]


@dataclass
class AccountsAPI:
    api: JobctlAPI

    @cached_property
    def repo(self) -> AccountRepository:
        with self.api.backends.errors():
            return AccountRepository(self.api.backends.engine, self.api.settings.token_keys)

    def require_key(self) -> None:
        """TokenKeyError (exit 12, with how to make a key) unless a token key is configured:
        checked before a command asks for tokens it could not store."""
        if not self.api.settings.token_keys:
            TokenCipher(()).encrypt("")  # raises TokenKeyError: no key, and how to make one

    def add(self, new: NewAccount) -> AccountInfo:
        token = _token(new.access_token, "access token")
        refresh = _optional(new.refresh_token, "refresh token")
        handle = new.handle.strip()
        if not handle or len(handle) > 200:
            raise AccountInputError("the handle must be 1-200 characters")
        account = SocialAccount(
            id=new_account_id(), organization_id=check_org_id(new.organization_id),
            platform=check_platform(new.platform), handle=handle,
            external_id=check_external_id(new.external_id), status=AccountStatus.CONNECTED,
            access_token=token, refresh_token=refresh, token_expires_at=new.token_expires_at,
            scopes=parse_scopes(new.scopes),
        )  # fmt: skip
        with self.api.backends.errors():
            self.repo.add_account(account, utcnow())
        self._schedules().install_defaults_for(defaults.organization_owner(account.organization_id))
        return self.get(account.id)

    def _schedules(self) -> Any:
        from jobctl.api.schedules import ScheduleAPI

        return ScheduleAPI(self.api)

    def list_accounts(
        self,
        organization_id: str | None = None,
        platform: str | None = None,
        status: str | AccountStatus | None = None,
    ) -> list[AccountInfo]:
        wanted = check_platform(platform) if platform else None
        with self.api.backends.errors():
            return self.repo.list_info(organization_id, wanted, _status(status))

    def reauth_needed(self, organization_id: str | None = None) -> list[AccountInfo]:
        """Accounts in NEEDS_REAUTH: each one's `action` says what the operator must do."""
        return self.list_accounts(organization_id, status=AccountStatus.NEEDS_REAUTH)

    def get(self, account_id: str) -> AccountInfo:
        with self.api.backends.errors():
            account = self.repo.get_info(account_id)
        if account is None:
            raise AccountNotFoundError(account_id)
        return account

    def disable(self, account_id: str) -> AccountInfo:
        with self.api.backends.errors():
            if not self.repo.disable(account_id, utcnow()):
                raise AccountNotFoundError(account_id)
        return self.get(account_id)

    def reconnect(
        self,
        account_id: str,
        access_token: str,
        refresh_token: str | None = None,
        expires_at: datetime | None = None,
        scopes: str | None = None,
    ) -> AccountInfo:
        """New tokens from a fresh OAuth grant: CONNECTED again (from NEEDS_REAUTH or DISABLED).
        No refresh token keeps the stored one; no scopes keep the stored ones."""
        token = _token(access_token, "access token")
        refresh = _optional(refresh_token, "refresh token")
        now = utcnow()
        with self.api.backends.errors():
            found = self.repo.replace_tokens(
                account_id, token, refresh, expires_at, now,
                scopes=parse_scopes(scopes) if scopes is not None else None,
            )  # fmt: skip
            if not found:
                raise AccountNotFoundError(account_id)
            self.repo.set_status(account_id, AccountStatus.CONNECTED, None, now)
        return self.get(account_id)

    def publish_attempt(self, content_item_id: str) -> PublishAttempt | None:
        """The item's publish attempt (the account it went to, the platform's rejection reason)."""
        with self.api.backends.errors():
            return self.repo.get_attempt(content_item_id)

    def remove(self, account_id: str) -> None:
        """Delete an account; the organisation's last connected one takes its hourly analytics
        sync and token-refresh schedules with it."""
        with self.api.backends.errors():
            account = self.repo.get_info(account_id)
            removed = self.repo.remove_account(account_id)
        if not removed or account is None:
            raise AccountNotFoundError(account_id)
        org = account.organization_id
        with self.api.backends.errors():
            left = [a for a in self.repo.list_info(org) if a.status == AccountStatus.CONNECTED]
        if not left:
            self._schedules().remove_defaults_for(defaults.ORGANIZATION, org, defaults.ACCOUNT_TEMPLATES)

    def encrypt_existing(self) -> ReencryptReport:
        """Encrypt the plaintext tokens left from before migration 0009 (idempotent)."""
        with self.api.backends.errors():
            return self.repo.reencrypt(only_plaintext=True)

    def rotate_key(self) -> ReencryptReport:
        """Re-encrypt every token with the first key of JOBCTL_TOKEN_KEYS (MultiFernet.rotate);
        afterwards the older keys can be dropped from the list."""
        with self.api.backends.errors():
            return self.repo.reencrypt(only_plaintext=False)
