"""Every attempt on record, through a real worker process and the real CLI: a job that fails
once and then succeeds shows both attempts, in `jobs show --json` and in the text timeline."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from cli_support import Cli, wait_until

Q = "context-scraping"


def test_failed_once_then_succeeded_lists_both_attempts(cli: Cli, tmp_path: Path) -> None:
    cli.start_worker(Q, log=tmp_path / "worker.log", extra=("--name", "tl"))
    job_id = cli.run("enqueue", "ping", "fail_attempts:=1", "--queue", Q).stdout.strip()
    assert wait_until(lambda: cli.json("jobs", "show", job_id, "--json")["status"] == "COMPLETED", timeout=30)
    shown = cli.json("jobs", "show", job_id, "--json")
    assert shown["attempts"] == 2  # the row's count is unchanged; the timeline has the detail
    first, second = shown["timeline"]
    assert [a["attempt"] for a in (first, second)] == [1, 2]
    assert [a["outcome"] for a in (first, second)] == ["retry_scheduled", "completed"]
    assert first["worker"] == second["worker"] == "tl"
    assert first["error"]["type"] == "JobProcessingError" and "attempt 1" in first["error"]["message"]
    assert "Traceback" in first["error"]["traceback"] and second["error"] is None
    for a in (first, second):
        started, finished = (datetime.fromisoformat(a[k]) for k in ("started_at", "finished_at"))
        assert finished >= started and a["duration_ms"] >= 0
    # the second attempt started after the first ended and its 1 s retry wait
    gap = datetime.fromisoformat(second["started_at"]) - datetime.fromisoformat(first["finished_at"])
    assert gap.total_seconds() >= 0.9
    text = cli.run("jobs", "show", job_id)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "timeline:")
    header, one, two = (lines[at + k].split() for k in (1, 2, 3))
    assert header == ["#", "WORKER", "STARTED", "TOOK", "OUTCOME", "ERROR"]
    assert one[:2] == ["1", "tl"] and one[5:7] == ["retry_scheduled", "JobProcessingError:"]
    assert two[:2] == ["2", "tl"] and two[5:] == ["completed"]


def test_a_deferred_job_runs_again_when_asked_and_spends_no_retry(cli: Cli, tmp_path: Path) -> None:
    """ping's deferral drill (as a rate-limited job: JobDeferredError, retry_after 2 s) through a
    real worker: PENDING until then, RQ runs it again at that time, and it completes; the
    deferred attempt is on the timeline and the retry budget is whole."""
    log = tmp_path / "worker.log"
    cli.start_worker(Q, log=log, extra=("--name", "df"))
    out = cli.run("enqueue", "ping", "defer_attempts:=1", "defer_s:=2", "--queue", Q, "--wait", "--json")
    assert out.returncode == 0, out.stderr
    done = cli.json("jobs", "show", json.loads(out.stdout)["id"], "--json")
    assert done["status"] == "COMPLETED" and done["result"]["attempt"] == 2
    # attempts counts both executions; max_attempts grew by the one given back (4 + 1)
    assert (done["attempts"], done["max_attempts"]) == (2, 5)
    first, second = done["timeline"]
    assert [first["outcome"], second["outcome"]] == ["deferred", "completed"]
    assert first["error"]["type"] == "JobDeferredError" and first["error"]["traceback"] is None
    assert first["error"]["message"].startswith("deferred 2s, until ")
    gap = datetime.fromisoformat(second["started_at"]) - datetime.fromisoformat(first["finished_at"])
    assert gap.total_seconds() >= 1.9, gap  # when the job asked, not the 1 s retry wait
    text = cli.run("jobs", "show", done["id"]).stdout
    assert "attempts: 2 of 5 (1 deferred, no retry spent)" in text
    row = next(line.split() for line in text.splitlines() if line.split()[:2] == ["1", "df"])
    assert row[5:8] == ["deferred", "JobDeferredError:", "deferred"]
    assert "job deferred for 2s (no retry spent)" in log.read_text()
