"""`jobctl doctor` on the context engine, against the real databases and Redis: UNHEALTHY
sources (made through the repository, as failed syncs make them) are a warning naming them;
allowing private fetch addresses, by environment or config file, is a warning saying where."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli

from jobctl.domain.context import UNHEALTHY_AFTER, SourceKind, SourceStatus
from jobctl.store.context_repo import ContextRepository
from jobctl.store.engine import create_store_engine


def _doctor(cli: Cli, *, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    out = Cli({**cli.env, **(env or {})}).run("doctor", "--json")
    return out.returncode, json.loads(out.stdout)


def _check(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["name"] == name)


@pytest.fixture
def repo(cli: Cli) -> Iterator[ContextRepository]:
    engine = create_store_engine(cli.env["JOBCTL_DATABASE_URL"])
    try:
        yield ContextRepository(engine)
    finally:
        engine.dispose()


def _failing(repo: ContextRepository, org: str, url: str, failures: int) -> str:
    source, _ = repo.add_source(org, SourceKind.RSS, url, None, datetime.now(UTC))
    for n in range(failures):  # one failure per job: the repository counts a job's retries once
        repo.record_failure(
            source.id, f"sync-rss-job-{n}", f"HTTP 500 from the feed (try {n})", datetime.now(UTC)
        )
    return source.id


def test_unhealthy_sources_are_a_warning_that_names_them(cli: Cli, repo: ContextRepository) -> None:
    code, report = _doctor(cli)
    assert code == 0 and _check(report, "sources")["status"] == "ok"

    sick = _failing(repo, "acme", "https://reader:hunter22@feeds.example/a.xml", UNHEALTHY_AFTER)
    _failing(repo, "acme", "https://feeds.example/b.xml", UNHEALTHY_AFTER - 1)  # one short: still ACTIVE
    assert repo.get_source(sick).status == SourceStatus.UNHEALTHY  # type: ignore[union-attr]

    code, report = _doctor(cli)
    assert code == 0  # a warning, not a failure
    check = _check(report, "sources")
    assert check["status"] == "warn" and check["hint"] and "sources enable" in check["hint"]
    assert check["finding"].startswith("1 context source(s) UNHEALTHY")
    assert (
        sick in check["finding"]
        and "acme" in check["finding"]
        and "HTTP 500 from the feed (try 4)" in check["finding"]
    )
    assert check["details"]["by_status"] == {"ACTIVE": 1, "UNHEALTHY": 1, "DISABLED": 0}
    [shown] = check["details"]["unhealthy"]
    assert shown["id"] == sick and shown["organization_id"] == "acme"
    assert shown["url"] == "https://reader:***@feeds.example/a.xml"  # the password never shows
    assert shown["last_error"] == "HTTP 500 from the feed (try 4)"
    assert shown["consecutive_failures"] == UNHEALTHY_AFTER
    text = cli.run("doctor")
    assert text.returncode == 0 and "hunter22" not in text.stdout + text.stderr
    assert any(line.startswith("WARN  sources") for line in text.stdout.splitlines())

    repo.set_status(sick, SourceStatus.ACTIVE, datetime.now(UTC))  # what `sources enable` does
    _, report = _doctor(cli)
    assert _check(report, "sources")["status"] == "ok"


def test_many_unhealthy_sources_name_a_few_and_count_all(cli: Cli, repo: ContextRepository) -> None:
    ids = [_failing(repo, f"org{i}", f"https://feeds.example/{i}.xml", UNHEALTHY_AFTER) for i in range(7)]
    _, report = _doctor(cli)
    check = _check(report, "sources")
    assert check["finding"].startswith("7 context source(s) UNHEALTHY") and "and 4 more" in check["finding"]
    listed = [s["id"] for s in check["details"]["unhealthy"]]
    assert len(listed) == 5 and set(listed) <= set(ids)


def test_private_fetch_addresses_allowed_is_a_warning(cli: Cli, tmp_path: Path) -> None:
    code, report = _doctor(cli)
    assert _check(report, "fetch")["status"] == "ok"

    code, report = _doctor(cli, env={"JOBCTL_FETCH_ALLOW_PRIVATE": "1"})
    assert code == 0
    check = _check(report, "fetch")
    assert check["status"] == "warn" and "private addresses allowed" in check["finding"]
    assert check["details"]["set_by"] == "environment (JOBCTL_FETCH_ALLOW_PRIVATE)"
    assert "JOBCTL_FETCH_ALLOW_PRIVATE" in check["hint"]

    config = tmp_path / "jobctl.toml"
    config.write_text("[fetch]\nallow_private_addresses = true\n")
    _, report = _doctor(cli, env={"JOBCTL_CONFIG": str(config)})
    check = _check(report, "fetch")
    assert check["status"] == "warn" and check["details"]["set_by"] == "config file"
    assert str(config) in check["hint"]
    text = Cli({**cli.env, "JOBCTL_FETCH_ALLOW_PRIVATE": "true"}).run("doctor")
    assert text.returncode == 0 and "private addresses allowed" in text.stdout
