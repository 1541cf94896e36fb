"""`jobctl accounts` through the real CLI, on SQLite and PostgreSQL: tokens come in on stdin or
from a file and are stored encrypted (the raw column holds no plaintext); no output or error
shows one; no key, or a wrong key, is one line on stderr with exit 12; key rotation; an account
a platform refused (NEEDS_REAUTH) is listed by reauth-needed and doctor with what to do, and
`reconnect` brings it back."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli
from sqlalchemy import text

from jobctl.store.accounts_repo import AccountRepository
from jobctl.store.engine import create_store_engine

ACCESS = "x-access-SECRET-7f6e5d4c3b2a"
REFRESH = "x-refresh-SECRET-1a2b3c4d5e6f"
ADD = ("accounts", "add", "acme", "x", "@acme", "--external-id", "2244994945")


def run(cli: Cli, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobctl", *args], env={**cli.env, **env}, input=stdin or "",
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def one_line_error(out: subprocess.CompletedProcess[str], code: int) -> str:
    assert out.returncode == code, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    return out.stderr


@pytest.fixture
def engine(cli: Cli) -> Iterator[Any]:
    eng = create_store_engine(cli.env["JOBCTL_DATABASE_URL"])
    try:
        yield eng
    finally:
        eng.dispose()


def test_tokens_go_in_by_stdin_or_file_and_never_come_out(cli: Cli, engine: Any, tmp_path: Path) -> None:
    outputs: list[str] = []
    keyless = run(cli, *ADD, "--token-stdin", "--json", stdin=f"{ACCESS}\n")
    assert "jobctl accounts new-key" in one_line_error(keyless, 12)  # before any token is read
    old = cli.run("accounts", "new-key").stdout.strip()
    cli.env["JOBCTL_TOKEN_KEYS"] = old

    added = run(cli, *ADD, "--token-stdin", "--scopes", "tweet.read tweet.write", "--json",
                stdin=f"{ACCESS}\n{REFRESH}\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    account = json.loads(added.stdout)
    assert (account["status"], account["access_token"], account["refresh_token"]) == (
        "CONNECTED",
        "set",
        "set",
    )
    assert account["tokens_encrypted"] is True and account["scopes"] == ["tweet.read", "tweet.write"]
    token_file = tmp_path / "token"
    token_file.write_text(f"{ACCESS}-li\n")
    li = run(cli, "accounts", "add", "acme", "linkedin", "Acme", "--external-id", "urn:li:organization:1",
             "--token-file", str(token_file), "--json")  # fmt: skip
    assert li.returncode == 0 and json.loads(li.stdout)["refresh_token"] is None, li.stderr
    outputs += [added.stdout, added.stderr, li.stdout, li.stderr, keyless.stderr]

    with engine.connect() as conn:  # the raw columns: ciphertext only
        stored = conn.execute(text("SELECT access_token, refresh_token FROM social_accounts")).all()
    assert len(stored) == 2 and all(v is None or v.startswith("fernet:") for row in stored for v in row)
    assert "SECRET" not in json.dumps([list(r) for r in stored])

    for args in (("accounts", "list", "--json"), ("accounts", "list"), ("accounts", "show", account["id"]),
                 ("accounts", "show", account["id"], "--json"), ("accounts", "reauth-needed", "--json"),
                 ("doctor", "--json")):  # fmt: skip
        out = cli.run(*args)
        assert out.returncode == 0, (args, out.stderr)
        outputs += [out.stdout, out.stderr]
    config = next(c for c in json.loads(outputs[-2])["checks"] if c["name"] == "config")
    assert config["details"]["settings"]["accounts"]["token_keys"] == "set"  # never the key itself
    assert old not in "".join(outputs)

    # A wrong key: showing still works, reading the tokens is one line naming the account, exit 12.
    wrong = cli.run("accounts", "new-key").stdout.strip()
    assert run(cli, "accounts", "list", "--json", JOBCTL_TOKEN_KEYS=wrong).returncode == 0
    bad = run(cli, "accounts", "rotate-key", JOBCTL_TOKEN_KEYS=wrong)
    assert account["id"] in one_line_error(bad, 12)
    outputs += [bad.stdout, bad.stderr]

    # Rotation: the new key first, the old one still opens; rotate; then the new key alone.
    new = cli.run("accounts", "new-key").stdout.strip()
    rotated = run(cli, "accounts", "rotate-key", "--json", JOBCTL_TOKEN_KEYS=f"{new},{old}")
    assert rotated.returncode == 0 and json.loads(rotated.stdout)["rewritten"] == 2, rotated.stderr
    doctor = json.loads(run(cli, "doctor", "--json", JOBCTL_TOKEN_KEYS=new).stdout)
    tokens = next(c for c in doctor["checks"] if c["name"] == "tokens")
    assert tokens["status"] == "ok" and "all 2 account(s) are encrypted" in tokens["finding"]
    stale = json.loads(run(cli, "doctor", "--json", JOBCTL_TOKEN_KEYS=old).stdout)
    assert next(c for c in stale["checks"] if c["name"] == "tokens")["status"] == "fail"
    outputs += [rotated.stdout, rotated.stderr, json.dumps(doctor), json.dumps(stale)]
    assert all(ACCESS not in t and REFRESH not in t for t in outputs)


def test_needs_reauth_is_listed_with_what_to_do_and_reconnect_fixes_it(cli: Cli, engine: Any) -> None:
    key = cli.run("accounts", "new-key").stdout.strip()
    cli.env["JOBCTL_TOKEN_KEYS"] = key
    added = run(cli, *ADD, "--token-stdin", "--json", stdin=ACCESS)
    assert added.returncode == 0, added.stderr
    account_id = json.loads(added.stdout)["id"]
    assert cli.json("accounts", "reauth-needed", "--json") == []

    # What a job does on HTTP 401 / invalid_grant.
    repo = AccountRepository(engine, (key,))
    assert repo.mark_needs_reauth(account_id, "HTTP 401 from X: token revoked", datetime.now(UTC))
    listed = cli.json("accounts", "reauth-needed", "--json")
    assert [a["id"] for a in listed] == [account_id] and listed[0]["status"] == "NEEDS_REAUTH"
    assert f"jobctl accounts reconnect {account_id}" in listed[0]["action"]
    assert "token revoked" in listed[0]["last_error"]
    shown = cli.run("accounts", "reauth-needed")
    assert account_id in shown.stdout and "jobctl accounts reconnect" in shown.stderr
    assert "need re-authentication" in cli.run("accounts", "list").stderr
    report = json.loads(cli.run("doctor", "--json").stdout)
    check = next(c for c in report["checks"] if c["name"] == "accounts")
    assert check["status"] == "warn" and account_id in check["finding"]
    assert "jobctl accounts reconnect" in check["hint"]

    fixed = run(cli, "accounts", "reconnect", account_id, "--token-stdin", "--json",
                stdin=f"{ACCESS}-2\n{REFRESH}\n")  # fmt: skip
    assert fixed.returncode == 0 and json.loads(fixed.stdout)["status"] == "CONNECTED", fixed.stderr
    assert json.loads(fixed.stdout)["refresh_token"] == "set"
    got = repo.get_account(account_id)
    assert got is not None and (got.access_token, got.refresh_token) == (f"{ACCESS}-2", REFRESH)

    disabled = cli.json("accounts", "disable", account_id, "--json")
    assert disabled["status"] == "DISABLED" and "reconnect" in disabled["action"]
    assert [a["id"] for a in cli.json("accounts", "list", "--status", "disabled", "--json")] == [account_id]
    unknown = cli.run("accounts", "disable", "acc_nope")
    assert unknown.returncode == 4 and "no social account" in unknown.stderr
    for text_out in (added.stdout, fixed.stdout, json.dumps(listed), json.dumps(report)):
        assert ACCESS not in text_out and REFRESH not in text_out
