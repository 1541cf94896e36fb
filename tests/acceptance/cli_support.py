"""Helpers for acceptance tests: run the real `jobctl` command; workers stopped by pid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Cli:
    """Runs `python -m jobctl …` with a controlled environment (nothing inherited from JOBCTL_*)."""

    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jobctl", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def json(self, *args: str) -> Any:
        out = self.run(*args)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def start_worker(
        self, *queues: str, log: Path, extra: tuple[str, ...] = (), own_group: bool = False
    ) -> subprocess.Popen[bytes]:
        """`own_group`: in a process group of its own (its pid), so a drill can killpg it."""
        qargs = [a for q in queues for a in ("--queue", q)]
        with log.open("ab") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "jobctl", "worker", *qargs, "--log-json", *extra],
                env=self.env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=own_group,
            )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def base_env(tmp_path: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("JOBCTL_", "XDG_"))}
    keep.update({"HOME": str(tmp_path), "JOBCTL_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1"})
    shim = entry_point_shim(tmp_path / "entry-points")
    if shim is not None:
        keep["PYTHONPATH"] = os.pathsep.join(p for p in (str(shim), keep.get("PYTHONPATH")) if p)
    return keep


def entry_point_shim(root: Path) -> Path | None:
    """A directory holding a dist-info that declares the `jobctl.processors` entry points of
    this checkout's pyproject.toml that the installed jobctl's metadata lacks (a branch's new
    processor before the package is reinstalled), to put on PYTHONPATH; None when none lack."""
    import tomllib
    from importlib.metadata import entry_points

    group = "jobctl.processors"
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text())["project"]["entry-points"][group]
    installed = {ep.name for ep in entry_points(group=group)}
    missing = {name: target for name, target in declared.items() if name not in installed}
    if not missing:
        return None
    dist = root / "jobctl_checkout_entry_points-0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: jobctl-checkout-entry-points\nVersion: 0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in missing.items())
    (dist / "entry_points.txt").write_text(f"[{group}]\n{lines}")
    return root


def wait_until(predicate: Any, timeout: float = 15.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


@contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """A quiet static HTTP server over `root` on 127.0.0.1 (a free port); yields its base URL."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
