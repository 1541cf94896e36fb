"""API tokens for the HTTP API: create (the secret is returned once), list, revoke, authenticate.

Tokens belong to one organisation, or are admin tokens (operators: every organisation). Only
the SHA-256 digest is stored (see jobctl.domain.tokens for why not bcrypt).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from jobctl.api.jobs import JobctlAPI
from jobctl.domain.content import check_org_id
from jobctl.domain.errors import ExitCode, InvalidInputError, JobctlError
from jobctl.domain.timeparse import utcnow
from jobctl.domain.tokens import TokenRecord, new_token_id, new_token_secret, token_digest
from jobctl.store.tokens_repo import TokenRepository


class TokenNotFoundError(JobctlError):
    title = "token not found"
    exit_code = ExitCode.NOT_FOUND

    def __init__(self, token_id: str) -> None:
        super().__init__(f"no active token with id {token_id!r} (see `jobctl tokens list`)")


@dataclass
class TokenAPI:
    api: JobctlAPI

    @cached_property
    def repo(self) -> TokenRepository:
        with self.api.backends.errors():
            return TokenRepository(self.api.backends.engine)

    def create(
        self, organization_id: str | None, name: str | None = None, *, admin: bool = False
    ) -> tuple[TokenRecord, str]:
        """A new token and its secret (shown once: only the digest is kept)."""
        if organization_id is None and not admin:
            raise InvalidInputError("a token needs an organization (--org ORG), or --admin")
        org = check_org_id(organization_id) if organization_id is not None else None
        if name is not None and not (1 <= len(name.strip()) <= 200):
            raise InvalidInputError("--name must be 1 to 200 characters")
        secret = new_token_secret()
        token_id = new_token_id()
        record = TokenRecord(
            id=token_id,
            organization_id=org,
            name=(name or "").strip() or token_id,
            admin=admin,
            created_at=utcnow(),
            revoked_at=None,
        )
        self.repo.add(record, token_digest(secret))
        return record, secret

    def list(self, organization_id: str | None = None) -> list[TokenRecord]:
        return self.repo.list(organization_id)

    def revoke(self, token_id: str) -> TokenRecord:
        if not self.repo.revoke(token_id, utcnow()):
            raise TokenNotFoundError(token_id)
        record = self.repo.get(token_id)
        assert record is not None
        return record

    def authenticate(self, secret: str) -> TokenRecord | None:
        """The active token with this secret, else None (unknown and revoked look the same)."""
        record = self.repo.find(token_digest(secret))
        return record if record is not None and record.active else None
