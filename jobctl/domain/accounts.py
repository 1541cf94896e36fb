"""Social accounts (a platform identity an organisation publishes through) and their tokens.

Statuses: CONNECTED (the tokens work as far as we know), NEEDS_REAUTH (the platform refused the
token, or the refresh grant was refused: an operator must reconnect the account with new tokens),
DISABLED (an operator switched it off: no job uses it). Migration 0009 renamed the old ACTIVE
and REVOKED to CONNECTED and DISABLED.

Tokens: encrypted at rest by the store (jobctl.store.token_cipher, keys from the settings), and
never printed. SocialAccount carries them decrypted, in fields with `repr=False`, for the jobs
that call platforms; AccountInfo is the same account without them (what every command shows,
readable without a key); both `to_json()`s say only whether each token is set.

`jobctl accounts add` reads tokens from a file, stdin or an environment variable, never from
argv, so they do not land in shell history or `ps` output.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from jobctl.domain.errors import ExitCode, JobctlError

PLATFORMS = ("twitter", "linkedin", "facebook", "instagram", "threads")
"""The platforms an account can be on: the same names as jobctl.domain.platform_rules.RULES."""

_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9:_.@-]{1,200}$")


class AccountStatus(StrEnum):
    CONNECTED = "CONNECTED"  # tokens work as far as we know
    NEEDS_REAUTH = "NEEDS_REAUTH"  # the platform refused the token: an operator must reconnect
    DISABLED = "DISABLED"  # an operator switched it off: never used until reconnected


class AccountInputError(JobctlError):
    title = "invalid input"
    exit_code = ExitCode.INVALID_INPUT


class AccountNotFoundError(JobctlError):
    title = "account not found"
    exit_code = ExitCode.NOT_FOUND

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        super().__init__(f"no social account with id {account_id!r} (see `jobctl accounts list`)")


def new_account_id() -> str:
    return f"acc_{uuid.uuid4().hex[:20]}"


def check_platform(value: str) -> str:
    name = value.strip().lower()
    name = "twitter" if name == "x" else name
    if name not in PLATFORMS:
        raise AccountInputError(f"unknown platform {value!r} (use {', '.join(PLATFORMS)})")
    return name


def parse_scopes(value: str | None) -> tuple[str, ...]:
    """OAuth scopes from a space- or comma-separated list (RFC 6749 §3.3 uses spaces), in order,
    without duplicates. Stored space-separated."""
    out: list[str] = []
    for scope in (value or "").replace(",", " ").split():
        if scope not in out:
            out.append(scope)
    return tuple(out)


def reauth_hint(account_id: str) -> str:
    """What an operator does about an account in NEEDS_REAUTH (doctor, reauth-needed, jobs)."""
    return (
        f"reconnect it on the platform (a new OAuth grant), then `jobctl accounts reconnect "
        f"{account_id} --token-file FILE [--refresh-token-file FILE]`"
    )


def check_external_id(value: str) -> str:
    """The platform's id of the account: X user id, LinkedIn author URN, page/IG/Threads user id."""
    value = value.strip()
    if not _EXTERNAL_ID.fullmatch(value):
        raise AccountInputError(
            f"invalid external account id {value!r}: 1-200 characters from A-Z a-z 0-9 : _ . @ -"
        )
    return value


@dataclass(frozen=True)
class SocialAccount:
    id: str
    organization_id: str
    platform: str
    handle: str
    external_id: str
    status: AccountStatus
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    token_expires_at: datetime | None = None
    last_error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    last_synced_at: datetime | None = None

    def info(self, tokens_encrypted: bool = True) -> AccountInfo:
        """The account without its tokens."""
        return AccountInfo(
            self.id, self.organization_id, self.platform, self.handle, self.external_id, self.status,
            has_access_token=bool(self.access_token), has_refresh_token=bool(self.refresh_token),
            tokens_encrypted=tokens_encrypted, scopes=self.scopes,
            token_expires_at=self.token_expires_at, last_error=self.last_error,
            last_synced_at=self.last_synced_at, created_at=self.created_at, updated_at=self.updated_at,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """Everything but the tokens: only whether each is set."""
        return self.info().to_json()


@dataclass(frozen=True)
class AccountInfo:
    """An account as the commands show it: everything but the tokens (read without a key)."""

    id: str
    organization_id: str
    platform: str
    handle: str
    external_id: str
    status: AccountStatus
    has_access_token: bool = True
    has_refresh_token: bool = False
    tokens_encrypted: bool = True  # False: a plaintext row from before migration 0009
    scopes: tuple[str, ...] = ()
    token_expires_at: datetime | None = None
    last_error: str | None = None
    last_synced_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def action(self) -> str | None:
        """What the operator must do, if anything."""
        if self.status == AccountStatus.NEEDS_REAUTH:
            return reauth_hint(self.id)
        if self.status == AccountStatus.DISABLED:
            return f"disabled: `jobctl accounts reconnect {self.id} --token-file FILE` turns it back on"
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "organization_id": self.organization_id, "platform": self.platform,
            "handle": self.handle, "external_id": self.external_id, "status": self.status.value,
            "access_token": "set" if self.has_access_token else None,
            "refresh_token": "set" if self.has_refresh_token else None,
            "tokens_encrypted": self.tokens_encrypted, "scopes": list(self.scopes),
            "token_expires_at": _iso(self.token_expires_at), "last_error": self.last_error,
            "last_synced_at": _iso(self.last_synced_at), "action": self.action,
            "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at),
        }  # fmt: skip


@dataclass(frozen=True)
class PublishAttempt:
    """The record written before a post is sent: a retry that finds it looks the post up first."""

    content_item_id: str
    social_account_id: str
    attempt_key: str
    job_id: str | None
    started_at: datetime
    error: str | None = None  # the platform's reason, when it rejected the content

    def to_json(self) -> dict[str, Any]:
        return {
            "social_account_id": self.social_account_id, "job_id": self.job_id,
            "started_at": self.started_at.isoformat(), "error": self.error,
        }  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
