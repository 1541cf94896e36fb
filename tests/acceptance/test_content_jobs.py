"""generate-content through a real worker: a feed served on 127.0.0.1 is synced into context items
for acme, then `enqueue generate-content ... --wait` stores a ContentItem per platform within its
limits, and generate-image draws a PNG card of the requested size for one; with no context it
fails at once, saying what to add; with a chat-completions server on 127.0.0.1 configured it
uses that server, and its key shows nowhere."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli, serve_directory

from jobctl.domain.platform_rules import RULES

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Acme blog</title><link>/</link>
<item><title>Durable queues</title><link>/queues.html</link><guid>q1</guid>
<description>Running background jobs reliably needs a durable record of every job, apart from the
broker. When a worker dies mid-job, the job runs again on another worker within thirty seconds.
Operators see every attempt, its worker and its error in one place.</description></item>
<item><title>Pricing update</title><link>/pricing.html</link><guid>p1</guid>
<description>Our team plan now includes ten seats. Annual billing saves two months.</description></item>
</channel></rss>"""
KEY = "sk-acceptance-secret-42"

pytestmark = pytest.mark.slow


@pytest.fixture
def feed_site(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "site"
    root.mkdir()
    (root / "feed.xml").write_text(FEED)
    with serve_directory(root) as base:
        yield base


@pytest.fixture
def chat_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    class Chat(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"auth": self.headers.get("Authorization"), "body": body})
            text = f"Durable job records keep operators informed (draft {len(seen)}). #Queues"
            data = json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Chat)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def _wait_json(cli: Cli, *args: str, org: str = "acme") -> dict[str, Any]:
    out = cli.run("enqueue", *args, "--org", org, "--wait", "--json", timeout=120)
    assert out.stdout, out.stderr
    return dict(json.loads(out.stdout))


def _start(cli: Cli, tmp_path: Path) -> Path:
    log = tmp_path / "worker.log"
    cli.env["JOBCTL_FETCH_ALLOW_PRIVATE"] = "1"
    cli.start_worker("context-scraping", "content-generation", log=log, extra=("--concurrency", "2"))
    return log


def test_generate_content_from_synced_context(embedded_cli: Cli, feed_site: str, tmp_path: Path) -> None:
    _start(embedded_cli, tmp_path)
    assert embedded_cli.run("orgs", "add", "acme", "--name", "Acme", "--hashtag", "Acme").returncode == 0
    synced = _wait_json(embedded_cli, "sync-rss", f"feed_url={feed_site}/feed.xml")
    assert synced["status"] == "COMPLETED" and synced["result"]["new"] == 2, synced

    job = _wait_json(
        embedded_cli, "generate-content", "topic=durable job queues", "platforms=twitter,linkedin",
        "variations_per_platform=2",
    )  # fmt: skip
    assert job["status"] == "COMPLETED", job
    result = job["result"]
    assert (result["provider"], result["model"]) == ("offline", "extractive-v1")
    assert result["organization_known"] is True
    assert [(i["platform"], i["variation"]) for i in result["items"]] == [
        ("twitter", 0), ("twitter", 1), ("linkedin", 0), ("linkedin", 1),
    ]  # fmt: skip
    assert result["context_items_used"]

    listed = embedded_cli.json("content", "list", "--org", "acme", "--json")
    assert {i["id"] for i in listed} == set(result["content_item_ids"])
    for entry in result["items"]:
        shown = embedded_cli.json("content", "show", entry["id"], "--json")
        rule = RULES[shown["platform"]]
        assert shown["characters"] == entry["characters"] == rule.count(shown["body"]) <= rule.max_chars
        assert rule.violations(shown["body"]) == [] and "#Acme" in shown["body"]
        assert shown["status"] == "DRAFT" and shown["job_id"] == job["id"]
        assert "durable record of every job" in shown["body"] or "worker dies" in shown["body"]
    bodies = [embedded_cli.json("content", "show", i, "--json")["body"] for i in result["content_item_ids"]]
    assert len(set(bodies)) == 4
    plain = embedded_cli.run("content", "show", result["content_item_ids"][0])
    assert plain.returncode == 0 and "(as twitter counts them)" in plain.stdout

    first_id = result["content_item_ids"][0]
    drawn = _wait_json(
        embedded_cli, "generate-image", "prompt=Durable queues: every job on record", "size=1200x628",
        f"content_item_id={first_id}",
    )  # fmt: skip
    assert drawn["status"] == "COMPLETED", drawn
    from PIL import Image

    with Image.open(drawn["result"]["path"]) as png:
        assert (png.format, png.size) == ("PNG", (1200, 628))
    assert Path(drawn["result"]["path"]).is_relative_to(Path(embedded_cli.env["JOBCTL_DATA_DIR"]))
    shown_image = embedded_cli.json("images", "show", drawn["result"]["id"], "--json")
    assert (shown_image["content_item_id"], shown_image["width"]) == (first_id, 1200)
    assert [i["id"] for i in embedded_cli.json("images", "list", "--org", "acme", "--json")] == [
        shown_image["id"]
    ]
    bad = embedded_cli.run("enqueue", "generate-image", "prompt=x", "size=10x10", "--org", "acme")
    assert bad.returncode == 3 and "size" in bad.stderr

    empty = _wait_json(embedded_cli, "generate-content", "topic=x", "platforms=twitter", org="globex")
    assert empty["status"] == "FAILED" and empty["attempts"] == 1, empty
    assert "add a source for organization globex" in empty["error"]["message"]


def test_generate_content_uses_a_configured_chat_server(
    embedded_cli: Cli, feed_site: str, chat_server: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    url, seen = chat_server
    embedded_cli.env.update({"JOBCTL_CONTENT_API_URL": url, "JOBCTL_CONTENT_API_KEY": KEY})
    embedded_cli.env["JOBCTL_CONTENT_MODEL"] = "local-model"
    log = _start(embedded_cli, tmp_path)
    assert _wait_json(embedded_cli, "sync-rss", f"feed_url={feed_site}/feed.xml")["status"] == "COMPLETED"
    job = _wait_json(embedded_cli, "generate-content", "topic=durable queues", "platforms=twitter,threads")
    assert job["status"] == "COMPLETED", job
    assert (job["result"]["provider"], job["result"]["model"]) == ("chat-completions", "local-model")
    assert len(seen) == 2 and all(s["auth"] == f"Bearer {KEY}" for s in seen)
    assert "Durable queues" in seen[0]["body"]["messages"][1]["content"]  # the ranked context item
    doctor = embedded_cli.run("doctor", "--json")
    listed = embedded_cli.run("content", "list", "--json")
    for text in (json.dumps(job), log.read_text(), doctor.stdout, doctor.stderr, listed.stdout):
        assert KEY not in text
