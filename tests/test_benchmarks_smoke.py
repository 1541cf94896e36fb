"""Each benchmark runs once at a tiny size and produces a well-formed row (no timing asserts).

The benchmarks own the Redis database they run on (they flush it), so these tests give them
the suite's private DB number (JOBCTL_TEST_REDIS_DB) and a private PostgreSQL schema, like
every other test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import all_benchmarks
from benchmarks.environment import Env
from benchmarks.harness import Result, print_table
from tests.services import redis_db_url

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"name", "jobctl", "baseline", "unit", "ratio", "target", "passed"}

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="session")
def bench_redis_url(redis_server_url: str) -> str:
    return redis_db_url(redis_server_url, 12)


@pytest.fixture(scope="module")
def env(postgres_server_url: str, bench_redis_url: str) -> Iterator[Env]:
    import redis

    url = bench_redis_url
    redis.Redis.from_url(url).flushdb()
    environ = {"JOBCTL_REDIS_URL": url, "JOBCTL_DATABASE_URL": postgres_server_url}
    e = Env("tiny", environ)
    e.claim_redis()
    try:
        yield e
    finally:
        e.close()


@pytest.mark.parametrize("bench", all_benchmarks(), ids=lambda b: b.name)
def test_benchmark_runs_once(env: Env, bench: object) -> None:
    result = bench.run(env)  # type: ignore[attr-defined]
    assert isinstance(result, Result)
    row = result.to_json()
    assert set(row) >= KEYS
    assert row["name"] == bench.name  # type: ignore[attr-defined]
    if result.jobctl is None:
        assert result.note.startswith("not measured yet: "), result.note
        assert row["passed"] is None
    else:
        assert result.jobctl > 0 and row["passed"] in (True, False)
        assert result.baseline is None or result.baseline > 0


def test_table_and_json_shape(tmp_path: Path, bench_redis_url: str, postgres_server_url: str) -> None:
    """The command's own output: the table on stdout, the JSON list in FILE (a cheap benchmark)."""
    out_file = tmp_path / "bench.json"
    environ = {
        **os.environ,
        "JOBCTL_REDIS_URL": bench_redis_url,
        "JOBCTL_DATABASE_URL": postgres_server_url,
        "PYTHONPATH": str(ROOT),
    }
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "cli-help", "--size", "tiny", "--json", str(out_file)],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode in (0, 1), out.stderr
    header = out.stdout.splitlines()[0].split()
    assert header == ["benchmark", "jobctl", "baseline", "unit", "ratio", "target", "result"]
    rows = json.loads(out_file.read_text())
    assert [r["name"] for r in rows] == ["cli-help"] and set(rows[0]) >= KEYS


def test_unknown_benchmark_is_a_usage_error() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "no-such-thing"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2 and "no benchmark matches" in out.stderr


def test_not_measured_rows_print_their_reason(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.harness import at_least, not_measured

    print_table([not_measured("x", "jobs/s", [at_least(0.5)], "the thing not built")])
    out = capsys.readouterr().out
    assert "not measured yet: the thing not built" in out and "-" in out.splitlines()[1]
