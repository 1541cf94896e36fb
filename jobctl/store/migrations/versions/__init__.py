"""Migration scripts, one per revision, written by hand (alembic skips this file)."""
