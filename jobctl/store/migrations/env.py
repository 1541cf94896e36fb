"""Alembic environment: runs migrations on the connection jobctl passes in.

`jobctl.store.engine.upgrade_schema` puts an open connection (inside a transaction it
commits) into `config.attributes["connection"]`, so no alembic.ini and no URL handling happen
here. Offline mode (`alembic upgrade --sql`) renders SQL for `sqlalchemy.url`, if one is set.
Logging is left to the caller: no fileConfig() here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection


def run_offline() -> None:
    """Emit the migration SQL without a database (for review or hand-applied upgrades)."""
    url = context.config.get_main_option("sqlalchemy.url") or "sqlite://"
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate on the caller's connection; refuse to guess one."""
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "jobctl migrations need a connection in config.attributes['connection'] (use `jobctl db upgrade`)"
        )
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
