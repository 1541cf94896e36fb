"""publish-content through a real worker: acme's feed on 127.0.0.1 is synced, generate-content
drafts a post per platform, an account is added pointing at a platform server on 127.0.0.1,
and `jobctl enqueue publish-content ... --wait` ends PUBLISHED with the server's post id, posting
once even though the first attempt was rate limited (deferred by its Retry-After, no retry
spent) and the next timed out after the server had accepted the post. The
account's token shows in no output and no worker log line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli, serve_directory
from cryptography.fernet import Fernet
from platform_fake import FakePlatforms, Scripted, serve

TOKEN = "x-user-token-SECRET-9f8e7d6c"
FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Acme blog</title><link>/</link>
<item><title>Durable queues</title><link>/queues.html</link><guid>q1</guid>
<description>Running background jobs reliably needs a durable record of every job, apart from the
broker. When a worker dies mid-job, the job runs again on another worker within thirty seconds.
</description></item></channel></rss>"""

pytestmark = pytest.mark.slow


@pytest.fixture
def feed_site(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "site"
    root.mkdir()
    (root / "feed.xml").write_text(FEED)
    with serve_directory(root) as base:
        yield base


@pytest.fixture
def platforms() -> Iterator[FakePlatforms]:
    with serve({TOKEN}) as server:
        yield server


def _wait_json(cli: Cli, *args: str) -> dict[str, Any]:
    out = cli.run("enqueue", *args, "--org", "acme", "--wait", "--json", timeout=120)
    assert out.stdout, out.stderr
    return dict(json.loads(out.stdout))


def test_publish_content_posts_once_through_a_worker(
    cli: Cli, feed_site: str, platforms: FakePlatforms, tmp_path: Path
) -> None:
    cli.env.update({
        "JOBCTL_TOKEN_KEYS": Fernet.generate_key().decode(),  # the worker decrypts with it
        "JOBCTL_FETCH_ALLOW_PRIVATE": "1", "JOBCTL_X_API_URL": platforms.url,
        "JOBCTL_LINKEDIN_API_URL": platforms.url,
        "JOBCTL_PUBLISH_TIMEOUT_SECONDS": "1",
    })  # fmt: skip
    log = tmp_path / "worker.log"
    cli.start_worker("context-scraping", "content-generation", "analytics-sync", log=log,
                     extra=("--concurrency", "2"))  # fmt: skip
    assert cli.run("orgs", "add", "acme", "--name", "Acme").returncode == 0
    assert _wait_json(cli, "sync-rss", f"feed_url={feed_site}/feed.xml")["status"] == "COMPLETED"
    generated = _wait_json(cli, "generate-content", "topic=durable job queues", "platforms=twitter,linkedin")
    assert generated["status"] == "COMPLETED", generated
    item_id, linkedin_item = generated["result"]["content_item_ids"]

    outputs: list[str] = []
    add = subprocess.run(
        [sys.executable, "-m", "jobctl", "accounts", "add", "acme", "x", "@acme",
         "--external-id", "2244994945", "--json"],
        env={**cli.env, "JOBCTL_ACCOUNT_ACCESS_TOKEN": TOKEN}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    account = json.loads(add.stdout)
    assert account["platform"] == "twitter" and account["access_token"] == "set"
    outputs += [add.stdout, add.stderr]

    # First a rate limit (deferred 2 s, no retry spent), then a post accepted but answered after
    # the 1 s deadline (a retry, which finds the post instead of posting again).
    limited = Scripted(status=429, headers={"Retry-After": "2"}, body={"title": "Too Many Requests"})
    platforms.script += [limited, Scripted(hang_s=3.0)]
    job = _wait_json(
        cli, "publish-content", f"content_item_id={item_id}", f"social_account_id={account['id']}"
    )
    assert job["status"] == "COMPLETED", job
    assert (job["attempts"], job["max_attempts"]) == (3, 5), job  # the deferral was given back
    shown_job = cli.json("jobs", "show", job["id"], "--json")
    assert [a["outcome"] for a in shown_job["timeline"]] == ["deferred", "retry_scheduled", "completed"]
    deferred, timed_out = shown_job["timeline"][:2]
    assert "HTTP 429" in deferred["error"]["message"] and "deferred 2s" in deferred["error"]["message"]
    gap = datetime.fromisoformat(timed_out["started_at"]) - datetime.fromisoformat(deferred["finished_at"])
    assert gap.total_seconds() >= 1.9  # not before the Retry-After
    assert platforms.count("twitter") == 1
    result = job["result"]
    assert result["found_existing"] is True and result["external_post_id"] == platforms.posts[0]["id"]
    shown = cli.json("content", "show", item_id, "--json")
    assert shown["status"] == "PUBLISHED" and shown["external_post_id"] == platforms.posts[0]["id"]
    assert platforms.posts[0]["text"] == shown["body"]

    for args in (("accounts", "list", "--json"), ("accounts", "show", account["id"], "--json"),
                 ("accounts", "show", account["id"]), ("jobs", "show", job["id"], "--json")):  # fmt: skip
        out = cli.run(*args)
        assert out.returncode == 0, out.stderr
        outputs += [out.stdout, out.stderr]

    # A rejection: the job fails at once (no retry) and the item is FAILED with LinkedIn's reason.
    li = subprocess.run(
        [sys.executable, "-m", "jobctl", "accounts", "add", "acme", "linkedin", "Acme",
         "--external-id", "urn:li:organization:5515715", "--token-stdin", "--json"],
        env=cli.env, input=TOKEN, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert li.returncode == 0, li.stderr
    reason = "ugcPost text is a duplicate of a recent post"
    platforms.script.append(
        Scripted(status=422, body={"status": 422, "serviceErrorCode": 100, "message": reason})
    )
    li_id = json.loads(li.stdout)["id"]
    failed = _wait_json(
        cli, "publish-content", f"content_item_id={linkedin_item}", f"social_account_id={li_id}"
    )
    assert failed["status"] == "FAILED" and failed["attempts"] == 1, failed
    assert reason in failed["error"]["message"]
    rejected = cli.json("content", "show", linkedin_item, "--json")
    assert rejected["status"] == "FAILED" and rejected["publish"]["error"] == reason
    assert platforms.count() == 1
    outputs += [li.stdout, li.stderr, json.dumps(failed), log.read_text()]
    assert all(TOKEN not in text for text in outputs)


def test_accounts_add_reads_tokens_from_stdin_or_env_never_argv(cli: Cli) -> None:
    cli.env["JOBCTL_TOKEN_KEYS"] = Fernet.generate_key().decode()
    base = [sys.executable, "-m", "jobctl", "accounts", "add", "acme", "linkedin", "Acme"]
    missing = subprocess.run(
        [*base, "--external-id", "urn:li:organization:1"], env=cli.env, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert missing.returncode == 3 and "set JOBCTL_ACCOUNT_ACCESS_TOKEN" in missing.stderr
    assert "--token-file" in missing.stderr
    assert "Traceback" not in missing.stderr
    piped = subprocess.run(
        [*base, "--external-id", "urn:li:organization:1", "--token-stdin", "--json"], env=cli.env,
        input=f"{TOKEN}\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert TOKEN not in piped.stdout + piped.stderr
    account = json.loads(piped.stdout)
    listed = cli.json("accounts", "list", "--org", "acme", "--json")
    assert [a["id"] for a in listed] == [account["id"]] and listed[0]["status"] == "CONNECTED"
    assert cli.run("accounts", "remove", account["id"]).returncode == 0
    gone = cli.run("accounts", "show", account["id"])
    assert gone.returncode == 4 and "no social account" in gone.stderr
