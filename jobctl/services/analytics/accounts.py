"""The account state a sync reads and writes, in one thin module so the names can change once.

On this branch's main the statuses are ACTIVE | NEEDS_REAUTH | REVOKED and AccountRepository has
only `set_status(account_id, status, last_error, now)` and `list_accounts(org, platform)`. The
token-encryption work (branch `tokencrypt`) renames ACTIVE to CONNECTED and adds
`mark_needs_reauth(account_id, reason, now)`, `mark_synced(account_id, now)` (which sets
`last_synced_at`) and `list_accounts(org, platform, status)`. At that merge only this module
changes: CONNECTED below, and the bodies of the four functions.

`mark_synced` cannot record `last_synced_at` here (main has no such column): it clears
`last_error`; the time of an account's last collection is read from PostAnalytics meanwhile
(AnalyticsRepository.last_collected).
"""

from __future__ import annotations

from datetime import datetime

from jobctl.domain.accounts import AccountStatus, SocialAccount
from jobctl.store.accounts_repo import AccountRepository

CONNECTED = AccountStatus.ACTIVE
"""The status of an account whose tokens work as far as we know (tokencrypt: CONNECTED)."""


def is_connected(account: SocialAccount) -> bool:
    return account.status == CONNECTED


def connected_accounts(repo: AccountRepository, organization_id: str) -> list[SocialAccount]:
    """The organisation's accounts a sync should visit."""
    return [a for a in repo.list_accounts(organization_id) if is_connected(a)]


def mark_needs_reauth(repo: AccountRepository, account: SocialAccount, reason: str, now: datetime) -> None:
    repo.set_status(account.id, AccountStatus.NEEDS_REAUTH, reason, now)


def mark_synced(repo: AccountRepository, account: SocialAccount, now: datetime) -> None:
    """The account synced: its last error is cleared (tokencrypt: also last_synced_at = now)."""
    repo.set_status(account.id, account.status, None, now)


def record_error(repo: AccountRepository, account: SocialAccount, message: str, now: datetime) -> None:
    """A failed sync that is not the token's fault: kept as last_error, the status unchanged."""
    repo.set_status(account.id, account.status, message, now)
