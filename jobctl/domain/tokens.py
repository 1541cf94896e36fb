"""API tokens of the HTTP API: what a token is allowed to see, and how a secret becomes its digest.

A token is `jct_` + 32 random bytes (URL-safe base64) and is shown once, at creation. The store
keeps only its SHA-256 digest. Why not bcrypt/argon2: those slow hashes exist to make guessing
*low-entropy passwords* expensive; a 256-bit random token cannot be guessed, so a fast hash
loses nothing, and it lets every request authenticate with one indexed equality lookup
(bcrypt costs ~100 ms per request and needs a per-token salt, hence a scan or a second key).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

TOKEN_PREFIX = "jct_"


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_token_id() -> str:
    return "tok_" + secrets.token_hex(8)


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class TokenRecord:
    """A stored token (never its secret). `organization_id` is None for an admin token."""

    id: str
    organization_id: str | None
    name: str
    admin: bool
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organization_id": self.organization_id,
            "name": self.name,
            "admin": self.admin,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }
