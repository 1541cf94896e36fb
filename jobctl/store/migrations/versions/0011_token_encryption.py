"""Social accounts as issue 13 models them: statuses CONNECTED | NEEDS_REAUTH | DISABLED, OAuth
scopes, the last analytics sync; tokens encrypted at rest from now on.

Revision ID: 0011_token_encryption
Revises: 0010_audit_log

Written by hand and frozen, like the others.
- status: ACTIVE -> CONNECTED, REVOKED -> DISABLED (NEEDS_REAUTH stays); an index on it serves
  `jobctl accounts reauth-needed`, doctor and the dashboard's count.
- scopes (space-separated text) and last_synced_at, both nullable.
- Tokens: a migration cannot encrypt them (the keys are in the settings, never in the database,
  and the schema layer does not read the settings). Existing rows stay plaintext and readable;
  every write from now on encrypts, `jobctl doctor` counts the plaintext rows, and
  `jobctl accounts encrypt-existing` (or `rotate-key`) encrypts them with JOBCTL_TOKEN_KEYS.
The downgrade maps the statuses back and drops the columns (encrypted tokens stay encrypted:
decrypt them first with a jobctl of this version if you must go back).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_token_encryption"
down_revision: str | None = "0010_audit_log"
branch_labels: str | None = None
depends_on: str | None = None

_RENAMES = (("ACTIVE", "CONNECTED"), ("REVOKED", "DISABLED"))


def _rename_statuses(pairs: tuple[tuple[str, str], ...]) -> None:
    accounts = sa.table("social_accounts", sa.column("status", sa.String(16)))
    for old, new in pairs:
        op.execute(accounts.update().where(accounts.c.status == old).values(status=new))


def upgrade() -> None:
    op.add_column("social_accounts", sa.Column("scopes", sa.Text(), nullable=True))
    op.add_column("social_accounts", sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True))
    _rename_statuses(_RENAMES)
    op.create_index("ix_social_accounts_status", "social_accounts", ["status"])


def downgrade() -> None:
    op.drop_index("ix_social_accounts_status", table_name="social_accounts")
    _rename_statuses(tuple((new, old) for old, new in _RENAMES))
    with op.batch_alter_table("social_accounts") as batch:
        batch.drop_column("last_synced_at")
        batch.drop_column("scopes")
