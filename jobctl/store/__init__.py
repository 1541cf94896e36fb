"""Persistence: the SQL Job table, engine set-up, schema migrations and repositories.

This package is the only one that imports SQLModel, SQLAlchemy or alembic (import-linter
enforces it); everything above it talks in domain records (`jobctl.domain.records`).
Submodules are imported directly (`from jobctl.store.engine import create_store_engine`) so
that importing `jobctl.store` stays free of SQLAlchemy's import cost.
"""
