"""refresh-token through real workers: an X account added with `jobctl accounts add`, two
`jobctl enqueue refresh-token … --wait` at once on two worker processes against a slow token
server on 127.0.0.1 -> one token request, both jobs COMPLETED; a revoked grant -> the job FAILED
after one attempt with the operator's instructions, the account NEEDS_REAUTH. No token or client
secret in any output, error or worker log line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import Cli
from cryptography.fernet import Fernet
from token_fake import FakeTokens, serve

from jobctl.domain.accounts import AccountStatus

ACCESS, REFRESH, SECRET = "x-access-SECRETVALUE-1", "x-refresh-SECRETVALUE-1", "client-SECRETVALUE-x"

pytestmark = pytest.mark.slow


@pytest.fixture
def tokens() -> Iterator[FakeTokens]:
    with serve(FakeTokens(refresh_tokens={REFRESH}, delay_s=1.5)) as state:
        yield state


def _enqueue(cli: Cli, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "jobctl", "enqueue", "refresh-token", *args, "--org", "acme", "--wait",
         "--json"],
        env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_refresh_token_jobs_through_two_workers(cli: Cli, tokens: FakeTokens, tmp_path: Path) -> None:
    cli.env.update({
        "JOBCTL_X_TOKEN_URL": f"{tokens.url}/2/oauth2/token", "JOBCTL_X_CLIENT_ID": "jobctl-app",
        "JOBCTL_X_CLIENT_SECRET": SECRET, "JOBCTL_PUBLISH_TIMEOUT_SECONDS": "5",
        "JOBCTL_TOKEN_KEYS": Fernet.generate_key().decode(),
    })  # fmt: skip
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    for log in logs:  # one slot each: the two jobs run in two processes at once
        cli.start_worker("analytics-sync", log=log, extra=("--concurrency", "1"))
    assert cli.run("orgs", "add", "acme", "--name", "Acme").returncode == 0
    expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    add = subprocess.run(
        [sys.executable, "-m", "jobctl", "accounts", "add", "acme", "x", "@acme", "--external-id",
         "2244994945", "--expires-at", expires, "--json"],
        env={**cli.env, "JOBCTL_ACCOUNT_ACCESS_TOKEN": ACCESS, "JOBCTL_ACCOUNT_REFRESH_TOKEN": REFRESH},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    account_id = json.loads(add.stdout)["id"]
    outputs = [add.stdout, add.stderr]

    both = [_enqueue(cli, f"social_account_id={account_id}") for _ in range(2)]
    finished = [p.communicate(timeout=120) for p in both]
    outputs += [text for pair in finished for text in pair]
    assert all(out for out, _ in finished), finished
    jobs = [json.loads(out) for out, _ in finished]
    assert [j["status"] for j in jobs] == ["COMPLETED", "COMPLETED"], finished
    assert sorted(j["result"]["action"] for j in jobs) == ["refreshed", "refreshed-by-other-job"]
    assert tokens.count() == 1  # one token request for two jobs
    assert len({j["worker"] for j in jobs}) == 2  # run by the two processes
    shown = cli.json("accounts", "show", account_id, "--json")
    assert shown["status"] == AccountStatus.CONNECTED.value and shown["token_expires_at"] > expires
    outputs.append(json.dumps(shown))

    tokens.refresh_tokens.clear()  # the user revoked the app
    out, err = _enqueue(cli, f"social_account_id={account_id}", "force=true").communicate(timeout=120)
    outputs += [out, err]
    failed = json.loads(out)
    assert failed["status"] == "FAILED" and failed["attempts"] == 1, failed
    assert (
        "NEEDS_REAUTH" in failed["error"]["message"]
        and "authorise the app again" in failed["error"]["message"]
    )
    assert cli.json("accounts", "show", account_id, "--json")["status"] == "NEEDS_REAUTH"
    assert tokens.count() == 2

    cli.stop_all()
    outputs += [log.read_text() for log in logs]
    for text in outputs:
        assert "SECRETVALUE" not in text, text
