"""AccountRepository: social accounts (tokens encrypted at rest), the publish attempt of each
content item, and the publishing state changes of content items (PUBLISHED or FAILED).

- Tokens: encrypted here on every write and decrypted here on every read of a SocialAccount
  (jobctl.store.token_cipher, the keys passed in from the settings), so nothing above the store
  sees ciphertext. AccountInfo reads (`get_info`, `list_info`) never decrypt: commands that
  only show accounts work without a key, and with a wrong one.
- Status changes for the jobs: `mark_needs_reauth` (a 401 / invalid_grant), `replace_tokens`
  (a refresh, or an operator reconnecting), `mark_synced`, `disable`. None of them brings a
  DISABLED account back: only `set_status(..., CONNECTED, ...)` (`jobctl accounts reconnect`).
- `start_attempt` is INSERT ... ON CONFLICT DO NOTHING on the content item id: the first
  attempt's record stays, and `created=False` tells a retry that a post may already exist.

Every method turns database outages into DatabaseUnavailableError (masked URL).
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, Row

from jobctl.domain.accounts import AccountInfo, AccountStatus, PublishAttempt, SocialAccount, parse_scopes
from jobctl.domain.content import ContentStatus
from jobctl.domain.redaction import redact
from jobctl.domain.token_keys import is_encrypted
from jobctl.store.account_tables import ACCOUNTS, ATTEMPTS
from jobctl.store.content_tables import CONTENT
from jobctl.store.db_errors import database_errors, translated
from jobctl.store.engine import autocommit, engine_label
from jobctl.store.record_rows import utc
from jobctl.store.token_cipher import TokenCipher, TokenKeyError

ca, cp, cc = ACCOUNTS.c, ATTEMPTS.c, CONTENT.c
ERROR_CHARS = 1000  # a platform's reason kept in last_error, at most
_PAGE = 200  # rows re-encrypted per read


@dataclass(frozen=True)
class TokenReport:
    """The state of the stored tokens (doctor): counts, and the accounts no configured key opens."""

    accounts: int
    plaintext: list[str] = field(default_factory=list)  # account ids with a plaintext token
    unreadable: list[str] = field(default_factory=list)  # account ids no configured key decrypts
    by_status: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ReencryptReport:
    checked: int
    rewritten: int
    unreadable: list[str] = field(default_factory=list)  # left as they were


def _info(row: Row[Any]) -> AccountInfo:
    m = row._mapping
    stored = [t for t in (m["access_token"], m["refresh_token"]) if t]
    return AccountInfo(
        m["id"], m["organization_id"], m["platform"], m["handle"], m["external_id"],
        AccountStatus(m["status"]), has_access_token=bool(m["access_token"]),
        has_refresh_token=bool(m["refresh_token"]), tokens_encrypted=all(map(is_encrypted, stored)),
        scopes=parse_scopes(m["scopes"]), token_expires_at=m["token_expires_at"],
        last_error=m["last_error"], last_synced_at=m["last_synced_at"], created_at=m["created_at"],
        updated_at=m["updated_at"],
    )  # fmt: skip


def _attempt(row: Row[Any]) -> PublishAttempt:
    m = row._mapping
    return PublishAttempt(
        m["content_item_id"], m["social_account_id"], m["attempt_key"], m["job_id"], m["started_at"],
        m["error"],
    )  # fmt: skip


def _reason(text: str) -> str:
    return redact(" ".join(text.split()))[:ERROR_CHARS]


class AccountRepository:
    """The publishing tables over one Engine (thread-safe: each call checks out a connection).

    `token_keys`: Settings.token_keys (newest first). Without keys, account metadata reads
    work; storing or reading a token raises TokenKeyError (a ConfigError, exit 12)."""

    def __init__(self, engine: Engine, token_keys: Sequence[str] = ()) -> None:
        self._auto = autocommit(engine)
        self._label = engine_label(engine)
        self._db_errors = database_errors()
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._cipher = TokenCipher(token_keys)

    def _account(self, row: Row[Any]) -> SocialAccount:
        m = row._mapping
        access = self._cipher.decrypt(m["access_token"], m["id"])
        refresh = self._cipher.decrypt(m["refresh_token"], m["id"]) if m["refresh_token"] else None
        return SocialAccount(
            id=m["id"], organization_id=m["organization_id"], platform=m["platform"], handle=m["handle"],
            external_id=m["external_id"], status=AccountStatus(m["status"]), access_token=access,
            refresh_token=refresh, token_expires_at=m["token_expires_at"], last_error=m["last_error"],
            created_at=m["created_at"], updated_at=m["updated_at"], scopes=parse_scopes(m["scopes"]),
            last_synced_at=m["last_synced_at"],
        )  # fmt: skip

    # -- accounts ------------------------------------------------------------------------------

    @translated
    def add_account(self, account: SocialAccount, now: datetime) -> SocialAccount:
        now = utc(now)
        values = {
            "id": account.id, "organization_id": account.organization_id, "platform": account.platform,
            "handle": account.handle, "external_id": account.external_id,
            "access_token": self._cipher.encrypt(account.access_token),
            "refresh_token": self._cipher.encrypt(account.refresh_token) if account.refresh_token else None,
            "token_expires_at": utc(account.token_expires_at) if account.token_expires_at else None,
            "status": account.status.value, "last_error": None, "created_at": now, "updated_at": now,
            "scopes": " ".join(account.scopes) or None, "last_synced_at": None,
        }  # fmt: skip
        with self._auto.connect() as conn:
            conn.execute(ACCOUNTS.insert().values(values))
        found = self.get_account(account.id)
        assert found is not None
        return found

    @translated
    def get_account(self, account_id: str) -> SocialAccount | None:
        """The account with its tokens decrypted (TokenKeyError without a key that opens them)."""
        with self._auto.connect() as conn:
            row = conn.execute(select(ACCOUNTS).where(ca.id == account_id)).first()
        return self._account(row) if row is not None else None

    get = get_account

    @translated
    def get_info(self, account_id: str) -> AccountInfo | None:
        """The account without its tokens (no key needed)."""
        with self._auto.connect() as conn:
            row = conn.execute(select(ACCOUNTS).where(ca.id == account_id)).first()
        return _info(row) if row is not None else None

    def _select(self, organization_id: str | None, platform: str | None, status: AccountStatus | None) -> Any:
        stmt = select(ACCOUNTS).order_by(ca.organization_id, ca.platform, ca.created_at, ca.id)
        if organization_id is not None:
            stmt = stmt.where(ca.organization_id == organization_id)
        if platform is not None:
            stmt = stmt.where(ca.platform == platform)
        if status is not None:
            stmt = stmt.where(ca.status == AccountStatus(status).value)
        return stmt

    @translated
    def list_accounts(
        self,
        organization_id: str | None = None,
        platform: str | None = None,
        status: AccountStatus | None = None,
    ) -> builtins.list[SocialAccount]:
        """Accounts with their tokens decrypted, by organisation, platform, creation."""
        with self._auto.connect() as conn:
            return [self._account(r) for r in conn.execute(self._select(organization_id, platform, status))]

    @translated
    def list_info(
        self,
        organization_id: str | None = None,
        platform: str | None = None,
        status: AccountStatus | None = None,
    ) -> builtins.list[AccountInfo]:
        """Accounts without their tokens (no key needed), in list_accounts' order."""
        with self._auto.connect() as conn:
            return [_info(r) for r in conn.execute(self._select(organization_id, platform, status))]

    @translated
    def remove_account(self, account_id: str) -> bool:
        with self._auto.connect() as conn:
            return bool(conn.execute(delete(ACCOUNTS).where(ca.id == account_id)).rowcount)

    def _update(self, account_id: str, values: dict[str, Any], *extra: Any) -> bool:
        with self._auto.connect() as conn:
            stmt = update(ACCOUNTS).where(ca.id == account_id, *extra).values(values)
            return bool(conn.execute(stmt).rowcount)

    @translated
    def set_status(
        self, account_id: str, status: AccountStatus, last_error: str | None, now: datetime
    ) -> bool:
        """Any status, unconditionally (the operator's commands); False if there is no such account."""
        values = {
            "status": AccountStatus(status).value, "last_error": _reason(last_error) if last_error else None,
            "updated_at": utc(now),
        }  # fmt: skip
        return self._update(account_id, values)

    @translated
    def mark_needs_reauth(self, account_id: str, reason: str, now: datetime) -> bool:
        """NEEDS_REAUTH with the platform's reason (redacted, ≤ 1000 chars) in last_error.
        A DISABLED account stays DISABLED (False then, as for an unknown id)."""
        values = {"status": AccountStatus.NEEDS_REAUTH.value, "last_error": _reason(reason),
                  "updated_at": utc(now)}  # fmt: skip
        return self._update(account_id, values, ca.status != AccountStatus.DISABLED.value)

    @translated
    def disable(self, account_id: str, now: datetime) -> bool:
        """DISABLED: no job uses it until `jobctl accounts reconnect`. Its tokens are kept."""
        return self._update(account_id, {"status": AccountStatus.DISABLED.value, "updated_at": utc(now)})

    @translated
    def replace_tokens(
        self,
        account_id: str,
        access_token: str,
        refresh_token: str | None,
        expires_at: datetime | None,
        now: datetime,
        *,
        scopes: Sequence[str] | None = None,
    ) -> bool:
        """New tokens, encrypted, in one UPDATE: a refresh (or a reconnect) succeeded.

        `refresh_token` None keeps the stored one (platforms that do not rotate it);
        `expires_at` is the new access token's expiry (None: unknown); `scopes` None keeps them.
        The account becomes CONNECTED with no last_error, unless it is DISABLED (it stays so).
        False if there is no such account."""
        values: dict[str, Any] = {
            "access_token": self._cipher.encrypt(access_token),
            "token_expires_at": utc(expires_at) if expires_at else None,
            "status": case(
                (ca.status == AccountStatus.DISABLED.value, AccountStatus.DISABLED.value),
                else_=AccountStatus.CONNECTED.value,
            ),
            "last_error": None, "updated_at": utc(now),
        }  # fmt: skip
        if refresh_token is not None:
            values["refresh_token"] = self._cipher.encrypt(refresh_token)
        if scopes is not None:
            values["scopes"] = " ".join(parse_scopes(" ".join(scopes))) or None
        return self._update(account_id, values)

    @translated
    def mark_synced(self, account_id: str, now: datetime) -> bool:
        """An analytics sync of the account finished: last_synced_at = now (status unchanged)."""
        return self._update(account_id, {"last_synced_at": utc(now), "updated_at": utc(now)})

    # -- tokens at rest ------------------------------------------------------------------------

    @translated
    def token_report(self) -> TokenReport:
        """Counts per status, and which accounts hold a plaintext token or one that no configured
        key opens (every stored token is test-decrypted: ~8 µs each). Reads only."""
        plaintext: builtins.list[str] = []
        unreadable: builtins.list[str] = []
        by_status: dict[str, int] = {}
        total = 0
        cols = (ca.id, ca.status, ca.access_token, ca.refresh_token)
        with self._auto.connect() as conn:
            for account_id, status, access, refresh in conn.execute(select(*cols).order_by(ca.id)):
                total += 1
                by_status[status] = by_status.get(status, 0) + 1
                stored = [t for t in (access, refresh) if t]
                if not all(map(is_encrypted, stored)):
                    plaintext.append(account_id)
                if self._cipher.configured and not all(map(self._cipher.opens, stored)):
                    unreadable.append(account_id)
        return TokenReport(total, plaintext, unreadable, by_status)

    @translated
    def reencrypt(self, *, only_plaintext: bool) -> ReencryptReport:
        """Encrypt every token with the first key: plaintext rows (`only_plaintext`, `jobctl
        accounts encrypt-existing`) or every row (`rotate-key`, MultiFernet.rotate). Each row is
        one UPDATE guarded by its old values, so a concurrent replace_tokens is never overwritten;
        accounts no key opens are left as they are and listed. Safe to run again."""
        if not self._cipher.configured:
            self._cipher.encrypt("")  # raises TokenKeyError with the how-to
        checked = rewritten = 0
        unreadable: builtins.list[str] = []
        after = ""
        cols = (ca.id, ca.access_token, ca.refresh_token)
        while True:
            with self._auto.connect() as conn:
                page = conn.execute(select(*cols).where(ca.id > after).order_by(ca.id).limit(_PAGE)).all()
            if not page:
                return ReencryptReport(checked, rewritten, unreadable)
            for account_id, access, refresh in page:
                checked += 1
                stored = [t for t in (access, refresh) if t]
                if only_plaintext and all(map(is_encrypted, stored)):
                    continue
                try:
                    new_access = self._cipher.rotate(access, account_id)
                    new_refresh = self._cipher.rotate(refresh, account_id) if refresh else None
                except TokenKeyError:
                    unreadable.append(account_id)
                    continue
                guard = [ca.access_token == access]
                guard.append(ca.refresh_token == refresh if refresh else ca.refresh_token.is_(None))
                values = {"access_token": new_access, "refresh_token": new_refresh}
                rewritten += self._update(account_id, values, *guard)
            after = page[-1][0]

    # -- publish attempts ----------------------------------------------------------------------

    @translated
    def start_attempt(
        self, content_item_id: str, account_id: str, job_id: str | None, now: datetime
    ) -> tuple[PublishAttempt, bool]:
        """The item's publish attempt, recorded now if it has none; (attempt, created)."""
        values = {
            "content_item_id": content_item_id, "social_account_id": account_id,
            "attempt_key": uuid.uuid4().hex, "job_id": job_id, "started_at": utc(now),
        }  # fmt: skip
        stmt = self._insert(ATTEMPTS).values(values).on_conflict_do_nothing().returning(cp.content_item_id)
        with self._auto.connect() as conn:
            created = conn.execute(stmt).first() is not None
            row = conn.execute(select(ATTEMPTS).where(cp.content_item_id == content_item_id)).one()
        return _attempt(row), created

    @translated
    def reclaim_attempt(
        self, content_item_id: str, job_id: str | None, now: datetime, lease_s: float
    ) -> bool:
        """Take the item's attempt over for `job_id`: True if it is already this job's (a retry) or
        its holder has not renewed it for `lease_s` (that job is gone); it is then renewed."""
        now = utc(now)
        stmt = (
            update(ATTEMPTS)
            .where(
                cp.content_item_id == content_item_id,
                or_(cp.job_id == job_id, cp.started_at < now - timedelta(seconds=lease_s)),
            )
            .values(job_id=job_id, started_at=now)
        )
        with self._auto.connect() as conn:
            return bool(conn.execute(stmt).rowcount)

    @translated
    def get_attempt(self, content_item_id: str) -> PublishAttempt | None:
        with self._auto.connect() as conn:
            row = conn.execute(select(ATTEMPTS).where(cp.content_item_id == content_item_id)).first()
        return _attempt(row) if row is not None else None

    # -- content publishing state --------------------------------------------------------------

    @translated
    def mark_published(self, content_item_id: str, external_post_id: str, now: datetime) -> None:
        values = {
            "status": ContentStatus.PUBLISHED.value, "external_post_id": external_post_id,
            "published_at": utc(now), "updated_at": utc(now),
        }  # fmt: skip
        with self._auto.connect() as conn:
            conn.execute(update(CONTENT).where(cc.id == content_item_id).values(values))

    @translated
    def mark_failed(self, content_item_id: str, reason: str, now: datetime) -> None:
        """FAILED, with the platform's reason kept on the item's publish attempt."""
        with self._auto.connect() as conn:
            conn.execute(
                update(CONTENT)
                .where(cc.id == content_item_id)
                .values(status=ContentStatus.FAILED.value, updated_at=utc(now))
            )
            conn.execute(update(ATTEMPTS).where(cp.content_item_id == content_item_id).values(error=reason))
