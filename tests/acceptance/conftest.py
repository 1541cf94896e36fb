"""Acceptance fixtures: the real `jobctl` command in subprocesses, workers stopped by pid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Cli, base_env


@pytest.fixture
def cli(db_url: str, redis_url: str, tmp_path: Path) -> Iterator[Cli]:
    """The CLI on a real database (each backend) and the real Redis, retries waiting 1 s."""
    env = base_env(tmp_path)
    env.update(
        {"JOBCTL_DATABASE_URL": db_url, "JOBCTL_REDIS_URL": redis_url, "JOBCTL_RETRY_INTERVALS": "1,1,1"}
    )
    c = Cli(env)
    up = c.run("db", "upgrade")  # a configured database is migrated explicitly, as users do
    assert up.returncode == 0, up.stderr
    try:
        yield c
    finally:
        c.stop_all()


@pytest.fixture
def embedded_cli(tmp_path: Path) -> Iterator[Cli]:
    """The CLI with nothing configured: embedded Redis + SQLite in a private data dir."""
    c = Cli(base_env(tmp_path))
    try:
        yield c
    finally:
        c.stop_all()
        c.run("redis", "stop")
