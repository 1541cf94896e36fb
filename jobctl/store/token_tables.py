"""The `api_tokens` table (migration 0007): the HTTP API's tokens, as SHA-256 digests.

No `from __future__ import annotations` (SQLModel reads annotations at class creation).
"""

from datetime import datetime

from sqlalchemy import Boolean, Column, String, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from jobctl.store.tables import UTCDateTime


class ApiToken(SQLModel, table=True):
    """One bearer token: its organisation (NULL for admin), a name, the digest, revocation."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),)

    id: str = Field(sa_column=Column("id", String(32), primary_key=True))
    organization_id: str | None = Field(default=None, sa_column=Column("organization_id", String(200)))
    name: str = Field(sa_column=Column("name", String(200), nullable=False))
    token_hash: str = Field(sa_column=Column("token_hash", String(64), nullable=False))
    admin: bool = Field(sa_column=Column("admin", Boolean, nullable=False))
    created_at: datetime = Field(sa_column=Column("created_at", UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column("revoked_at", UTCDateTime))


TOKENS: Table = SQLModel.metadata.tables["api_tokens"]
