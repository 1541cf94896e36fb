"""AccountRepository: social accounts, the publish attempt of each content item, and the
publishing state changes of content items (PUBLISHED with the external id, or FAILED).

- `start_attempt` is INSERT ... ON CONFLICT DO NOTHING on the content item id: the first
  attempt's record stays, and `created=False` tells a retry that a post may already exist.
- Account rows carry tokens; they leave this module only inside SocialAccount (repr=False).

Every method turns database outages into DatabaseUnavailableError (masked URL).
"""

from __future__ import annotations

import builtins
import uuid
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, Row

from jobctl.domain.accounts import AccountStatus, PublishAttempt, SocialAccount
from jobctl.domain.content import ContentStatus
from jobctl.store.account_tables import ACCOUNTS, ATTEMPTS
from jobctl.store.content_tables import CONTENT
from jobctl.store.db_errors import database_errors, translated
from jobctl.store.engine import autocommit, engine_label
from jobctl.store.record_rows import utc

P = ParamSpec("P")
R = TypeVar("R")
ca, cp, cc = ACCOUNTS.c, ATTEMPTS.c, CONTENT.c



def _account(row: Row[Any]) -> SocialAccount:
    m = row._mapping
    return SocialAccount(
        id=m["id"], organization_id=m["organization_id"], platform=m["platform"], handle=m["handle"],
        external_id=m["external_id"], status=AccountStatus(m["status"]), access_token=m["access_token"],
        refresh_token=m["refresh_token"], token_expires_at=m["token_expires_at"],
        last_error=m["last_error"], created_at=m["created_at"], updated_at=m["updated_at"],
    )  # fmt: skip


def _attempt(row: Row[Any]) -> PublishAttempt:
    m = row._mapping
    return PublishAttempt(
        m["content_item_id"], m["social_account_id"], m["attempt_key"], m["job_id"], m["started_at"],
        m["error"],
    )  # fmt: skip


class AccountRepository:
    """The publishing tables over one Engine (thread-safe: each call checks out a connection)."""

    def __init__(self, engine: Engine) -> None:
        self._auto = autocommit(engine)
        self._label = engine_label(engine)
        self._db_errors = database_errors()
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    # -- accounts ------------------------------------------------------------------------------

    @translated
    def add_account(self, account: SocialAccount, now: datetime) -> SocialAccount:
        now = utc(now)
        values = {
            "id": account.id, "organization_id": account.organization_id, "platform": account.platform,
            "handle": account.handle, "external_id": account.external_id,
            "access_token": account.access_token, "refresh_token": account.refresh_token,
            "token_expires_at": utc(account.token_expires_at) if account.token_expires_at else None,
            "status": account.status.value, "last_error": None, "created_at": now, "updated_at": now,
        }  # fmt: skip
        with self._auto.connect() as conn:
            conn.execute(ACCOUNTS.insert().values(values))
        found = self.get_account(account.id)
        assert found is not None
        return found

    @translated
    def get_account(self, account_id: str) -> SocialAccount | None:
        with self._auto.connect() as conn:
            row = conn.execute(select(ACCOUNTS).where(ca.id == account_id)).first()
        return _account(row) if row is not None else None

    @translated
    def list_accounts(
        self, organization_id: str | None = None, platform: str | None = None
    ) -> builtins.list[SocialAccount]:
        stmt = select(ACCOUNTS).order_by(ca.organization_id, ca.platform, ca.created_at, ca.id)
        if organization_id is not None:
            stmt = stmt.where(ca.organization_id == organization_id)
        if platform is not None:
            stmt = stmt.where(ca.platform == platform)
        with self._auto.connect() as conn:
            return [_account(r) for r in conn.execute(stmt)]

    @translated
    def remove_account(self, account_id: str) -> bool:
        with self._auto.connect() as conn:
            return bool(conn.execute(delete(ACCOUNTS).where(ca.id == account_id)).rowcount)

    @translated
    def set_status(
        self, account_id: str, status: AccountStatus, last_error: str | None, now: datetime
    ) -> None:
        values = {"status": status.value, "last_error": last_error, "updated_at": utc(now)}
        with self._auto.connect() as conn:
            conn.execute(update(ACCOUNTS).where(ca.id == account_id).values(values))

    @translated
    def replace_tokens(
        self, account_id: str, access_token: str, refresh_token: str | None, expires_at: datetime | None,
        now: datetime,
    ) -> bool:
        """Store a refresh's new tokens in one UPDATE (one transaction): the access token, the
        (possibly rotated) refresh token and the expiry change together or not at all. False: no
        such account."""
        values = {
            "access_token": access_token, "refresh_token": refresh_token,
            "token_expires_at": utc(expires_at) if expires_at else None, "updated_at": utc(now),
        }  # fmt: skip
        with self._auto.connect() as conn:
            return bool(conn.execute(update(ACCOUNTS).where(ca.id == account_id).values(values)).rowcount)

    @translated
    def mark_needs_reauth(self, account_id: str, reason: str, now: datetime) -> bool:
        """The platform refused the account's tokens: NEEDS_REAUTH with the reason. False: no
        such account."""
        values = {"status": AccountStatus.NEEDS_REAUTH.value, "last_error": reason, "updated_at": utc(now)}
        with self._auto.connect() as conn:
            return bool(conn.execute(update(ACCOUNTS).where(ca.id == account_id).values(values)).rowcount)

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
