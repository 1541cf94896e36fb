"""The account state a sync reads and writes, in one thin module (the names the token work
settled on: CONNECTED | NEEDS_REAUTH | DISABLED, `mark_needs_reauth`, `mark_synced`,
`list_accounts(org, platform, status)`).

- `connected_accounts`: the organisation's CONNECTED accounts (NEEDS_REAUTH and DISABLED ones
  are not visited: their tokens are known bad, or an operator switched them off);
- `mark_needs_reauth`: the platform refused the token (a DISABLED account stays DISABLED);
- `mark_synced`: last_synced_at = now, and a previous sync's error cleared;
- `record_error`: a failed sync that is not the token's fault, kept as last_error.
"""

from __future__ import annotations

from datetime import datetime

from jobctl.domain.accounts import AccountStatus, SocialAccount
from jobctl.store.accounts_repo import AccountRepository

CONNECTED = AccountStatus.CONNECTED
"""The status of an account whose tokens work as far as we know."""


def is_connected(account: SocialAccount) -> bool:
    return account.status == CONNECTED


def connected_accounts(repo: AccountRepository, organization_id: str) -> list[SocialAccount]:
    """The organisation's accounts a sync should visit."""
    return repo.list_accounts(organization_id, status=CONNECTED)


def mark_needs_reauth(repo: AccountRepository, account: SocialAccount, reason: str, now: datetime) -> None:
    repo.mark_needs_reauth(account.id, reason, now)


def mark_synced(repo: AccountRepository, account: SocialAccount, now: datetime) -> None:
    repo.mark_synced(account.id, now)
    if account.last_error:
        repo.set_status(account.id, account.status, None, now)


def record_error(repo: AccountRepository, account: SocialAccount, message: str, now: datetime) -> None:
    repo.set_status(account.id, account.status, message, now)
