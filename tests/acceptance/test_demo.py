"""`jobctl demo` end to end without a TTY: the README's first command on embedded defaults."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import Cli, base_env


def test_demo_runs_every_runnable_type_against_its_own_site(tmp_path: Path) -> None:
    cli = Cli(base_env(tmp_path))
    out = cli.run("demo", "--json", timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] is True
    by_type: dict[str, list[str]] = {}
    for check in report["checks"]:
        by_type.setdefault(check["type"], []).append(check["got"])
    assert by_type["sync-rss"] == ["COMPLETED"]
    assert by_type["scrape-website"] == ["COMPLETED"]
    assert by_type["process-document"] == ["COMPLETED"]
    assert by_type["generate-content"] == ["COMPLETED"]
    assert by_type["generate-image"] == ["COMPLETED"]
    assert sorted(set(by_type["ping"])) == ["CANCELLED", "COMPLETED", "FAILED"]
    items = {m["kind"]: m["items"] for m in report["context"]}
    assert items == {"RSS": 3, "WEBSITE": 1, "DOCUMENT": 1}
    # The demo's site is on 127.0.0.1 and nothing else is fetched: every source URL is local.
    assert all(m["url"].startswith("http://127.0.0.1:") for m in report["context"])
