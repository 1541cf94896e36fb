"""sync-analytics through a real worker: two accounts of acme against the platform server on
127.0.0.1, `jobctl enqueue sync-analytics --org acme --wait` stores their posts' metrics in
post_analytics, `jobctl analytics show` reports them (table and --json); a revoked token marks
its account NEEDS_REAUTH and fails a one-account job at once, without a retry; a 429 with
Retry-After 120 defers the job by 120 s. No token shows in any output or worker log line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli, wait_until
from cryptography.fernet import Fernet
from platform_fake import FakePlatforms, Scripted, serve

TOKEN = "x-analytics-tok-SECRET-7a6b5c4d"
REVOKED = "li-revoked-tok-SECRET-1f2e3d4c"

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def token_keys(cli: Cli) -> None:
    cli.env["JOBCTL_TOKEN_KEYS"] = Fernet.generate_key().decode()  # tokens at rest; the worker's too


@pytest.fixture
def platforms() -> Iterator[FakePlatforms]:
    with serve({TOKEN}) as server:
        yield server


def _add(cli: Cli, platform: str, external_id: str, token: str) -> tuple[dict[str, Any], list[str]]:
    out = subprocess.run(
        [sys.executable, "-m", "jobctl", "accounts", "add", "acme", platform, f"@acme_{platform}",
         "--external-id", external_id, "--token-stdin", "--json"],
        env=cli.env, input=token, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), [out.stdout, out.stderr]


def _wait(cli: Cli, *args: str) -> tuple[dict[str, Any], list[str]]:
    out = cli.run("enqueue", "sync-analytics", *args, "--org", "acme", "--wait", "--json", timeout=120)
    assert out.stdout, out.stderr
    return dict(json.loads(out.stdout)), [out.stdout, out.stderr]


def test_sync_analytics_through_a_worker(cli: Cli, platforms: FakePlatforms, tmp_path: Path) -> None:
    cli.env.update({"JOBCTL_X_API_URL": platforms.url, "JOBCTL_LINKEDIN_API_URL": platforms.url,
                    "JOBCTL_PUBLISH_TIMEOUT_SECONDS": "5"})  # fmt: skip
    log = tmp_path / "worker.log"
    cli.start_worker("analytics-sync", log=log, extra=("--concurrency", "2"))
    x, outputs = _add(cli, "x", "2244994945", TOKEN)
    li, more = _add(cli, "linkedin", "urn:li:organization:5515715", REVOKED)
    outputs += more
    platforms.seed("twitter", "2244994945", 7)

    job, more = _wait(cli, "lookback=3650d")
    outputs += more
    assert job["status"] == "COMPLETED", job  # one of two accounts synced: partial, not failed
    result = job["result"]
    by_id = {a["social_account_id"]: a for a in result["accounts"]}
    assert by_id[x["id"]]["ok"] is True and by_id[x["id"]]["posts"] == 7
    assert by_id[li["id"]]["error_kind"] == "token_rejected"
    assert result["learning"].startswith("recomputed"), result  # 7 posts: too few for a finding
    listed = cli.json("accounts", "show", li["id"], "--json")
    assert listed["status"] == "NEEDS_REAUTH" and listed["last_error"]

    shown = cli.json("analytics", "show", "--org", "acme", "--json")
    assert shown["overall"]["posts"] == 7 and shown["overall"]["impressions"] == sum(
        1000 + 10 * i for i in range(7)
    )
    assert [p["platform"] for p in shown["platforms"]] == ["twitter"]
    assert shown["series"]["all"] and shown["series"]["all"][-1]["posts"] == 7
    table = cli.run("analytics", "show", "--org", "acme")
    assert table.returncode == 0, table.stderr
    assert "twitter" in table.stdout and "engagement rate over time" in table.stdout
    outputs += [json.dumps(shown), table.stdout, table.stderr]

    # The revoked account alone: refused before any request (it is NEEDS_REAUTH), no retry.
    failed, more = _wait(cli, f"social_account_id={li['id']}")
    outputs += more
    assert failed["status"] == "FAILED" and failed["attempts"] == 1, failed
    assert (
        "NEEDS_REAUTH" in failed["error"]["message"]
        and "jobctl accounts reconnect" in failed["error"]["message"]
    )

    outputs.append(log.read_text())
    assert all(TOKEN not in text and REVOKED not in text for text in outputs)


def test_a_token_refused_during_the_only_accounts_sync_fails_without_retry(
    cli: Cli, platforms: FakePlatforms, tmp_path: Path
) -> None:
    cli.env.update({"JOBCTL_THREADS_API_URL": platforms.url})
    log = tmp_path / "worker.log"
    cli.start_worker("analytics-sync", log=log, extra=("--concurrency", "1"))
    account, outputs = _add(cli, "threads", "25025320", REVOKED)
    job, more = _wait(cli, f"social_account_id={account['id']}")
    outputs += more
    assert job["status"] == "FAILED" and job["attempts"] == 1 and job["next_attempt_at"] is None, job
    assert (
        "NEEDS_REAUTH" in job["error"]["message"]
        and "reconnect it with a new token" in job["error"]["message"]
    )
    assert cli.json("accounts", "show", account["id"], "--json")["status"] == "NEEDS_REAUTH"
    outputs += [log.read_text(), json.dumps(cli.json("jobs", "show", job["id"], "--json"))]
    assert all(REVOKED not in text for text in outputs)


def test_a_429_with_retry_after_120_defers_the_job_by_120_s(
    cli: Cli, platforms: FakePlatforms, tmp_path: Path
) -> None:
    cli.env.update({"JOBCTL_X_API_URL": platforms.url})
    log = tmp_path / "worker.log"
    cli.start_worker("analytics-sync", log=log, extra=("--concurrency", "1"))
    account, _ = _add(cli, "x", "2244994945", TOKEN)
    platforms.seed("twitter", "2244994945", 2)
    limited = {"Retry-After": "120", "x-rate-limit-remaining": "0"}
    body = {"title": "Too Many Requests", "status": 429}
    platforms.script_metrics(Scripted(status=429, body=body, headers=limited))
    queued = cli.json(
        "enqueue", "sync-analytics", f"social_account_id={account['id']}", "--org", "acme", "--json"
    )

    def deferred() -> dict[str, Any] | None:
        job = cli.json("jobs", "show", queued["id"], "--json")
        return job if job["status"] == "PENDING" and job.get("next_attempt_at") else None

    job = wait_until(deferred, timeout=60, interval=0.5)
    assert job, cli.json("jobs", "show", queued["id"], "--json")
    wait = datetime.fromisoformat(job["next_attempt_at"]) - datetime.fromisoformat(job["updated_at"])
    assert wait >= timedelta(seconds=119), job
    assert "rate limited" in job["error"]["message"] and "120" in job["error"]["message"]
    assert len(platforms.metrics_requests("2244994945")) == 1  # nothing more before the reset
    assert TOKEN not in json.dumps(job) + log.read_text()
