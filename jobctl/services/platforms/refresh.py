"""Refresh one social account's tokens: one refresh per account at a time, the new tokens saved
before anything else, and a revoked grant turned into NEEDS_REAUTH.

One refresh at a time, fleet-wide: a Redis lock per account (`SET key holder NX PX lease`,
released by compare-and-delete). The job that takes it re-reads the account (someone may have
just refreshed it) and sends the one token request; a job that finds it taken waits for it to go,
re-reads the account and, if its tokens changed meanwhile, reports that refresh as its own
result without a request. A holder that dies loses the lock when its lease runs out (the lease
is the token request's deadline plus a margin, so a live holder never outlives it) and a waiter
takes over. Two jobs for one account therefore make one token request.

Rotated refresh tokens (X rotates on every refresh; the old one is dead at once): the answer's
tokens are written by `replace_tokens` — one UPDATE, access token, refresh token and expiry
together — straight after the response is read, before logging, before releasing the lock,
before anything that could fail. A save that fails is retried a few times (the tokens exist only
in memory then). A crash after the save leaves the account with working tokens; the next refresh
uses the new refresh token.

`invalid_grant` (or Meta's code 190) -> NEEDS_REAUTH and a failure without retries, unless the
account's tokens changed in the meantime (another refresh won the race and rotated them: that
refusal is of a token we no longer hold, not of the account). 429 -> JobDeferredError(retry_after);
5xx, timeouts -> a retryable JobProcessingError. Results carry expiries, never tokens.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis import Redis

from jobctl.domain.accounts import AccountStatus, SocialAccount
from jobctl.domain.errors import (
    DatabaseUnavailableError,
    JobDeferredError,
    JobProcessingError,
    PermanentJobError,
)
from jobctl.domain.redaction import redact
from jobctl.services.platforms.base import PlatformError, PlatformUnavailable, RateLimited
from jobctl.services.platforms.oauth import ClientMisconfigured, GrantRefused, NewTokens, TokenEndpoint
from jobctl.store.accounts_repo import AccountRepository

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
SAVE_TRIES = 4  # the new tokens exist only in memory until saved: 0.2 + 0.4 + 0.8 s of retries
Requester = Callable[[TokenEndpoint, SocialAccount], NewTokens]


class AccountLocks:
    """`jobctl:refresh-lock:{account id}` in Redis, one holder at a time, with a lease."""

    def __init__(self, redis: Redis, *, poll_s: float = 0.1) -> None:
        self._redis = redis
        self._release = redis.register_script(_RELEASE)
        self.poll_s = poll_s

    @staticmethod
    def key(account_id: str) -> str:
        return f"jobctl:refresh-lock:{account_id}"

    def acquire(self, account_id: str, holder: str, lease_s: float) -> bool:
        return bool(self._redis.set(self.key(account_id), holder, nx=True, px=int(lease_s * 1000)))

    def release(self, account_id: str, holder: str) -> None:
        self._release(keys=[self.key(account_id)], args=[holder])

    def held(self, account_id: str) -> bool:
        return bool(self._redis.exists(self.key(account_id)))


@dataclass(frozen=True)
class RefreshResult:
    social_account_id: str
    platform: str
    action: str  # refreshed | skipped (not due) | refreshed-by-other-job
    old_expires_at: datetime | None
    new_expires_at: datetime | None
    refresh_token_rotated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "social_account_id": self.social_account_id, "platform": self.platform, "action": self.action,
            "old_expires_at": _iso(self.old_expires_at), "new_expires_at": _iso(self.new_expires_at),
            "refresh_token_rotated": self.refresh_token_rotated,
        }  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _state(account: SocialAccount) -> tuple[str, str | None, datetime | None]:
    """What a refresh changes: compared in memory only, never shown."""
    return (account.access_token, account.refresh_token, account.token_expires_at)


def is_due(account: SocialAccount, now: datetime, window_s: float) -> bool:
    """Its token expires within the window. One whose expiry is unknown (added without
    `--expires-at`; a Meta token that never expires) is due once its tokens are a window old:
    a refresh then learns the expiry (`expires_in`), and is tried at most once a window."""
    window = timedelta(seconds=window_s)
    if account.token_expires_at is not None:
        return account.token_expires_at - now <= window
    return account.updated_at is None or now - account.updated_at >= window


@dataclass
class Refresher:
    accounts: AccountRepository
    locks: AccountLocks
    endpoint_for: Callable[[SocialAccount], TokenEndpoint]
    request: Requester
    now: Callable[[], datetime]
    sleep: Callable[[float], None] = time.sleep
    window_s: float = 86400.0
    lease_margin_s: float = 15.0

    def refresh(
        self,
        account_id: str,
        *,
        force: bool = False,
        holder: str | None = None,
        organization_id: str | None = None,
    ) -> RefreshResult:
        """Refresh one account (`organization_id`, when given, must be the account's)."""
        holder = holder or uuid.uuid4().hex
        account = self._usable(self.accounts.get_account(account_id), account_id)
        if organization_id is not None and account.organization_id != organization_id:
            raise PermanentJobError(
                f"account {account.id} belongs to {account.organization_id}, not {organization_id}"
            )
        if not force and not is_due(account, self.now(), self.window_s):
            e = account.token_expires_at
            return RefreshResult(account.id, account.platform, "skipped", e, e)
        endpoint = self.endpoint_for(account)
        lease_s = endpoint.timeout_s + self.lease_margin_s
        seen = _state(account)
        deadline = time.monotonic() + lease_s + 5.0  # a waiter outlives one holder's whole lease
        while not self.locks.acquire(account.id, holder, lease_s):
            if time.monotonic() > deadline:
                raise JobDeferredError(
                    f"another job is refreshing account {account.id}; trying again shortly",
                    retry_after_s=lease_s,
                )
            self.sleep(self.locks.poll_s)
            if not self.locks.held(account.id):
                other = self._changed(account, seen)
                if other is not None:
                    return other
        try:
            other = self._changed(account, seen)
            if other is not None:
                return other
            return self._refresh_locked(account, endpoint)
        finally:
            self.locks.release(account.id, holder)

    def _usable(self, account: SocialAccount | None, account_id: str) -> SocialAccount:
        if account is None:
            raise PermanentJobError(f"no social account {account_id!r} (see `jobctl accounts list`)")
        if account.status == AccountStatus.NEEDS_REAUTH:
            raise PermanentJobError(
                f"account {account.id} ({account.platform} {account.handle}) is NEEDS_REAUTH: its grant was "
                f"refused; reconnect it with new tokens ({_reconnect(account.id)})"
            )
        if account.status != AccountStatus.CONNECTED:
            raise PermanentJobError(
                f"account {account.id} is {account.status.value}: it is not refreshed (reconnect it first)"
            )
        return account

    def _changed(self, before: SocialAccount, seen: tuple[Any, ...]) -> RefreshResult | None:
        """The result of a refresh another job made since `seen`, if one did."""
        now_account = self.accounts.get_account(before.id)
        if now_account is None or _state(now_account) == seen:
            return None
        self._usable(now_account, before.id)
        rotated = now_account.refresh_token != before.refresh_token
        return RefreshResult(
            before.id, before.platform, "refreshed-by-other-job", before.token_expires_at,
            now_account.token_expires_at, rotated,
        )  # fmt: skip

    def _refresh_locked(self, account: SocialAccount, endpoint: TokenEndpoint) -> RefreshResult:
        secrets = tuple(t for t in (account.access_token, account.refresh_token) if t)
        try:
            tokens = self.request(endpoint, account)
        except GrantRefused as exc:
            other = self._changed(account, _state(account))
            if other is not None:
                return other
            message = redact(exc.message, secrets)
            self.accounts.mark_needs_reauth(account.id, message, self.now())
            raise PermanentJobError(
                f"{message}; account {account.id} ({account.platform} {account.handle}) is now NEEDS_REAUTH: "
                "the user must authorise the app again, then give the account its new tokens "
                f"({_reconnect(account.id)})"
            ) from None
        except RateLimited as exc:
            raise JobDeferredError(exc.message, retry_after_s=exc.retry_after_s) from None
        except ClientMisconfigured as exc:
            raise PermanentJobError(exc.message) from None
        except PlatformUnavailable as exc:
            raise JobProcessingError(f"{exc.message} (will retry)") from None
        except PlatformError as exc:
            raise PermanentJobError(exc.message) from None
        refresh_token = tokens.refresh_token if tokens.refresh_token is not None else account.refresh_token
        self._save(account, tokens, refresh_token)
        return RefreshResult(
            account.id, account.platform, "refreshed", account.token_expires_at, tokens.expires_at,
            refresh_token != account.refresh_token,
        )  # fmt: skip

    def _save(self, account: SocialAccount, tokens: NewTokens, refresh_token: str | None) -> None:
        """Store the new tokens now; retried, since the platform may have retired the old ones."""
        wait = 0.2
        for attempt in range(1, SAVE_TRIES + 1):
            try:
                self.accounts.replace_tokens(
                    account.id, tokens.access_token, refresh_token, tokens.expires_at, self.now()
                )
                return
            except DatabaseUnavailableError as exc:
                if attempt == SAVE_TRIES:
                    raise JobProcessingError(
                        f"{account.platform} issued new tokens for account {account.id} but they could not be"
                        " "
                        f"saved ({exc.message}); if the platform rotated the refresh token the account may "
                        "need re-authorising"
                    ) from None
                time.sleep(wait)
                wait *= 2


def refresh_due(refresher: Refresher, organization_id: str, holder: str | None = None) -> dict[str, Any]:
    """The hourly sweep of one organisation: refresh each CONNECTED account whose token expires
    within the window, one after another; one account's failure does not stop the others.

    Each account's outcome is in the result. An account refused for good (NEEDS_REAUTH, a
    misconfigured app) is reported, and the sweep still completes; a retryable failure (5xx,
    timeout, rate limit) fails the sweep after the others ran, so its retry redoes only the
    accounts that are still due (the refreshed ones no longer are)."""
    now = refresher.now()
    due = [
        a for a in refresher.accounts.list_accounts(organization_id)
        if a.status == AccountStatus.CONNECTED and is_due(a, now, refresher.window_s)
    ]  # fmt: skip
    results: list[dict[str, Any]] = []
    retry: list[str] = []
    wait, deferred = 0.0, 0
    for account in due:
        try:
            results.append(refresher.refresh(account.id, holder=holder).to_json())
        except JobDeferredError as exc:
            wait, deferred = max(wait, exc.retry_after_s or 0.0), deferred + 1
            retry.append(f"{account.id}: {exc.message}")
        except PermanentJobError as exc:
            results.append({"social_account_id": account.id, "platform": account.platform,
                            "action": "failed", "error": exc.message})  # fmt: skip
        except JobProcessingError as exc:
            retry.append(f"{account.id}: {exc.message}")
    if retry:
        done = sum(1 for r in results if r["action"] != "failed")
        message = f"{len(retry)} of {len(due)} due accounts not refreshed ({done} were): " + "; ".join(retry)
        if deferred == len(retry):  # only rate limits: wait for them, spending no retry
            raise JobDeferredError(message, retry_after_s=wait)
        raise JobProcessingError(message)
    return {"organization_id": organization_id, "due": len(due), "accounts": results}


def _reconnect(account_id: str) -> str:
    """The command that gives a NEEDS_REAUTH account new tokens in place: it keeps its id, its
    post_analytics and its published items (remove + add would lose them)."""
    return f"`jobctl accounts reconnect {account_id} --token-file FILE [--refresh-token-file FILE]`"
