"""The publishing tables: `social_accounts` (a platform identity and its tokens) and
`publish_attempts` (written before a post is sent, so a retry knows to look the post up first).

No `from __future__ import annotations` (SQLModel reads annotations at class creation).
Columns are spelled out so the schema is exactly what migrations 0007_social_accounts and
0009_token_encryption create. `access_token` / `refresh_token` hold `fernet:<token>` ciphertext
(jobctl.store.token_cipher; plaintext only in rows written before 0009, until `jobctl accounts
encrypt-existing`). `scopes` is the OAuth scopes, space-separated.
"""

from datetime import datetime

from sqlalchemy import Column, Index, String, Table, Text
from sqlmodel import Field, SQLModel

from jobctl.store.tables import UTCDateTime


class SocialAccountRow(SQLModel, table=True):
    __tablename__ = "social_accounts"
    __table_args__ = (
        Index("ix_social_accounts_org_platform", "organization_id", "platform"),
        Index("ix_social_accounts_status", "status"),
    )

    id: str = Field(sa_column=Column("id", String(64), primary_key=True))
    organization_id: str = Field(sa_column=Column("organization_id", String(200), nullable=False))
    platform: str = Field(sa_column=Column("platform", String(32), nullable=False))
    handle: str = Field(sa_column=Column("handle", String(200), nullable=False))
    external_id: str = Field(sa_column=Column("external_id", String(200), nullable=False))
    access_token: str = Field(sa_column=Column("access_token", Text, nullable=False))
    refresh_token: str | None = Field(default=None, sa_column=Column("refresh_token", Text))
    token_expires_at: datetime | None = Field(default=None, sa_column=Column("token_expires_at", UTCDateTime))
    status: str = Field(sa_column=Column("status", String(16), nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column("last_error", Text))
    created_at: datetime = Field(sa_column=Column("created_at", UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column("updated_at", UTCDateTime, nullable=False))
    scopes: str | None = Field(default=None, sa_column=Column("scopes", Text))
    last_synced_at: datetime | None = Field(default=None, sa_column=Column("last_synced_at", UTCDateTime))


class PublishAttemptRow(SQLModel, table=True):
    """At most one per content item: the first attempt to post it (a retry keeps it)."""

    __tablename__ = "publish_attempts"

    content_item_id: str = Field(sa_column=Column("content_item_id", String(64), primary_key=True))
    social_account_id: str = Field(sa_column=Column("social_account_id", String(64), nullable=False))
    attempt_key: str = Field(sa_column=Column("attempt_key", String(64), nullable=False))
    job_id: str | None = Field(default=None, sa_column=Column("job_id", String(128)))
    started_at: datetime = Field(sa_column=Column("started_at", UTCDateTime, nullable=False))
    # The platform's reason when it rejected the content (the item is then FAILED).
    error: str | None = Field(default=None, sa_column=Column("error", Text))


ACCOUNTS: Table = SQLModel.metadata.tables["social_accounts"]
ATTEMPTS: Table = SQLModel.metadata.tables["publish_attempts"]
