"""Fixtures for API-level tests: real Redis (a private DB number, flushed) and real databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from jobctl.api import JobctlAPI


@pytest.fixture
def env(db_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment a user would set: real URLs, retries shortened by configuration."""
    return {
        "HOME": str(tmp_path),
        "JOBCTL_DATA_DIR": str(tmp_path / "data"),
        "JOBCTL_DATABASE_URL": db_url,
        "JOBCTL_REDIS_URL": redis_url,
        "JOBCTL_RETRY_INTERVALS": "1,1,1",
    }


@pytest.fixture
def api(env: dict[str, str]) -> Iterator[object]:
    from jobctl.api import JobctlAPI, upgrade_database
    from jobctl.settings import load_settings

    settings = load_settings(env=env)
    upgrade_database(settings)
    a = JobctlAPI(settings)
    try:
        yield a
    finally:
        a.close()


@pytest.fixture
def top_api(sqlite_url: str, redis_url: str, tmp_path: Path) -> Iterator[JobctlAPI]:
    """A JobctlAPI for the dashboard tests (SQLite + the real Redis), closed afterwards."""
    from top_support import make_api

    api = make_api(sqlite_url, redis_url, tmp_path)
    try:
        yield api
    finally:
        api.close()
