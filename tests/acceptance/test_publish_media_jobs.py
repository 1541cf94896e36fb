"""publish-content with images through a real worker: acme's feed on 127.0.0.1 is synced,
generate-content drafts an X post and an Instagram caption, generate-image draws a card for each,
and `jobctl enqueue publish-content ... --wait` posts each once with its card attached: X gets the
PNG's bytes through its media upload, Instagram fetches a JPEG copy from the public media URL
(the data dir's images/ served on 127.0.0.1) - even though the first X attempt timed out. The
token shows in no output or worker log line."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli, serve_directory
from cryptography.fernet import Fernet
from platform_fake import FakePlatforms, Scripted, serve

TOKEN = "ig-x-token-SECRET-1a2b3c4d"
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
def media_site(tmp_path: Path) -> Iterator[str]:
    images = tmp_path / "data" / "images"
    images.mkdir(parents=True)
    with serve_directory(images) as base:
        yield base


@pytest.fixture
def platforms() -> Iterator[FakePlatforms]:
    with serve({TOKEN}) as server:
        yield server


def _wait_json(cli: Cli, *args: str) -> dict[str, Any]:
    out = cli.run("enqueue", *args, "--org", "acme", "--wait", "--json", timeout=120)
    assert out.stdout, out.stderr
    return dict(json.loads(out.stdout))


def _account(cli: Cli, platform: str, external_id: str) -> tuple[str, list[str]]:
    add = subprocess.run(
        [sys.executable, "-m", "jobctl", "accounts", "add", "acme", platform, "@acme",
         "--external-id", external_id, "--json"],
        env={**cli.env, "JOBCTL_ACCOUNT_ACCESS_TOKEN": TOKEN}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    return str(json.loads(add.stdout)["id"]), [add.stdout, add.stderr]


def test_publish_content_posts_each_item_once_with_its_image(
    cli: Cli, feed_site: str, media_site: str, platforms: FakePlatforms, tmp_path: Path
) -> None:
    cli.env.update({
        "JOBCTL_FETCH_ALLOW_PRIVATE": "1", "JOBCTL_X_API_URL": platforms.url,
        "JOBCTL_INSTAGRAM_API_URL": platforms.url, "JOBCTL_PUBLISH_MEDIA_URL": media_site,
        "JOBCTL_PUBLISH_TIMEOUT_SECONDS": "1",
        "JOBCTL_TOKEN_KEYS": Fernet.generate_key().decode(),  # accounts' tokens are encrypted
    })  # fmt: skip
    log = tmp_path / "worker.log"
    cli.start_worker("context-scraping", "content-generation", "analytics-sync", log=log,
                     extra=("--concurrency", "2"))  # fmt: skip
    assert cli.run("orgs", "add", "acme", "--name", "Acme").returncode == 0
    assert _wait_json(cli, "sync-rss", f"feed_url={feed_site}/feed.xml")["status"] == "COMPLETED"
    generated = _wait_json(cli, "generate-content", "topic=durable job queues", "platforms=twitter,instagram")
    assert generated["status"] == "COMPLETED", generated
    x_item, ig_item = generated["result"]["content_item_ids"]
    cards = {}
    for item in (x_item, ig_item):
        image = _wait_json(cli, "generate-image", "organization_id=acme", "prompt=Durable queues",
                           "size=1080x1080", f"content_item_id={item}")  # fmt: skip
        assert image["status"] == "COMPLETED", image
        cards[item] = Path(image["result"]["path"])
    x_account, outputs = _account(cli, "x", "2244994945")
    ig_account, more = _account(cli, "instagram", "17841400008460056")
    outputs += more

    platforms.script.append(Scripted(hang_s=3.0))  # the tweet is accepted, answered after the 1 s deadline
    job = _wait_json(cli, "publish-content", f"content_item_id={x_item}", f"social_account_id={x_account}")
    assert job["status"] == "COMPLETED" and job["attempts"] == 2, job  # the retry found the post
    ig = _wait_json(cli, "publish-content", f"content_item_id={ig_item}", f"social_account_id={ig_account}")
    assert ig["status"] == "COMPLETED" and ig["attempts"] == 1, ig

    assert platforms.count("twitter") == 1 and platforms.count("instagram") == 1
    tweet, post = platforms.posts
    x_upload, ig_upload = (platforms.upload(p["media"][0]) for p in (tweet, post))
    assert x_upload["how"] == "bytes" and x_upload["mime"] == "image/png"
    assert x_upload["sha256"] == hashlib.sha256(cards[x_item].read_bytes()).hexdigest()
    jpeg = cards[ig_item].with_suffix(".jpg")  # Instagram takes JPEG only: a copy beside the card
    assert ig_upload["how"] == "url" and ig_upload["mime"] == "image/jpeg"
    assert ig_upload["sha256"] == hashlib.sha256(jpeg.read_bytes()).hexdigest()
    for item, result in ((x_item, job), (ig_item, ig)):
        shown = cli.json("content", "show", item, "--json")
        assert (
            shown["status"] == "PUBLISHED"
            and shown["external_post_id"] == result["result"]["external_post_id"]
        )
    outputs += [json.dumps(job), json.dumps(ig), log.read_text()]
    assert all(TOKEN not in text for text in outputs)
