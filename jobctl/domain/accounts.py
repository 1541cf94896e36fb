"""Social accounts (a platform identity an organisation publishes through) and their tokens.

Tokens: stored in the `social_accounts` table as given, never printed. Every record carries them
in fields with `repr=False`; `to_json()` and the CLI show only whether each is set and when the
access token expires. Encryption at rest (Fernet/MultiFernet with a key from the settings) is
issue 13's: its migration re-writes these two columns, nothing else reads them.

`jobctl accounts add` reads tokens from an environment variable or stdin, never from argv, so
they do not land in shell history or `ps` output.
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
    ACTIVE = "ACTIVE"  # tokens work as far as we know
    NEEDS_REAUTH = "NEEDS_REAUTH"  # the platform refused the token: an operator must reconnect
    REVOKED = "REVOKED"  # the operator (or the platform) withdrew it: never used again


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

    def to_json(self) -> dict[str, Any]:
        """Everything but the tokens: only whether each is set."""
        return {
            "id": self.id, "organization_id": self.organization_id, "platform": self.platform,
            "handle": self.handle, "external_id": self.external_id, "status": self.status.value,
            "access_token": "set" if self.access_token else None,
            "refresh_token": "set" if self.refresh_token else None,
            "token_expires_at": _iso(self.token_expires_at), "last_error": self.last_error,
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
