"""`jobctl top` in a real terminal: tmux at 80x24, each key string sent in one `send-keys`
(as a paste or a fast typist sends it). The view switches, the filter arrives whole, esc
closes the prompt after an error, and `q` then quits: the process exits with 0.

The tmux server runs on a socket of its own and is killed by that socket at the end.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from top_support import make_api

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True, timeout=10
        )
        return out.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "top")

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if check(text):
                return text
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; the screen was:\n{text}")


@pytest.fixture
def top_in_tmux(sqlite_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[Tmux, Path]]:
    make_api(sqlite_url, redis_url, tmp_path).close()  # migrated and seeded, as the Pilot tests use
    env = {
        "HOME": str(tmp_path),
        "JOBCTL_DATA_DIR": str(tmp_path / "data"),
        "JOBCTL_DATABASE_URL": sqlite_url,
        "JOBCTL_REDIS_URL": redis_url,
        "PATH": os.environ.get("PATH", ""),
        "TERM": "tmux-256color",
    }
    rc_file = tmp_path / "top.rc"
    script = tmp_path / "top.sh"
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    script.write_text(
        f"{exports}{shlex.quote(sys.executable)} -m jobctl top --interval 3600\n"
        f"echo $? > {shlex.quote(str(rc_file))}\n"
    )
    tmux = Tmux(f"jobctl-top-{uuid.uuid4().hex[:12]}")
    tmux("new-session", "-d", "-s", "top", "-x", "80", "-y", "24", f"bash {shlex.quote(str(script))}")
    try:
        yield tmux, rc_file
    finally:
        subprocess.run(["tmux", "-L", tmux.socket, "kill-server"], capture_output=True, timeout=10)


def test_bursts_reach_the_prompt_and_q_quits(top_in_tmux: tuple[Tmux, Path]) -> None:
    tmux, rc_file = top_in_tmux
    tmux.wait_for(lambda s: "jobctl top · queues" in s and "Quit" in s, "the dashboard")

    tmux("send-keys", "-t", "top", ":failed", "Enter")
    tmux.wait_for(lambda s: "jobctl top · failed" in s, "the failed view")

    tmux("send-keys", "-t", "top", ":jobs", "Enter")
    tmux.wait_for(lambda s: "jobctl top · jobs" in s, "the jobs view")

    tmux("send-keys", "-t", "top", "/org:acme status:failed", "Enter")
    # The filter line shows as the key is handled; the filtered page follows from its poll.
    screen = tmux.wait_for(
        lambda s: "filter: org:acme status:failed" in s and "fail-0" in s, "the whole filter and its rows"
    )
    assert "fail-1" not in screen  # fail-1 belongs to globex

    tmux("send-keys", "-t", "top", ":nonsense", "Enter")
    tmux.wait_for(lambda s: "unknown view 'nonsense'" in s, "the prompt's error")
    tmux("send-keys", "-t", "top", "Escape")
    tmux.wait_for(lambda s: "unknown view" not in s and "nonsense" not in s, "esc closing the prompt")

    tmux("send-keys", "-t", "top", "q")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not rc_file.exists():
        time.sleep(0.1)
    assert rc_file.exists(), f"q did not quit; the screen was:\n{tmux.screen()}"
    assert rc_file.read_text().strip() == "0"
