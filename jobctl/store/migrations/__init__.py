"""Alembic migrations of jobctl's schema (run programmatically by `jobctl.store.engine`).

A package so setuptools ships it; alembic itself loads `env.py` and `versions/*.py` by path.
"""
