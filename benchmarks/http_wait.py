"""An I/O-bound job type for the concurrency benchmark, installed the way plugins are.

`bench-http-wait` GETs a URL (the benchmark's own server on 127.0.0.1, which answers after
200 ms) through one shared httpx client. The worker subprocess finds it through the
`jobctl.processors` entry-point group: `install_plugin` writes a dist-info that declares it
into a directory the subprocess gets on its PYTHONPATH; nothing is installed for real.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict

from jobctl.domain.job_types import JobTypeSpec
from jobctl.processors.base import JobContext

JOB_TYPE = "bench-http-wait"


class HttpWaitPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str


_local = threading.local()
_ssl_lock = threading.Lock()
_ssl_context: Any = None


def _client() -> httpx.Client:
    """This thread's client (a job slot reuses its keep-alive connection from job to job).

    One client shared by 60 slot threads spent ~20 % of the worker's samples waiting on
    httpcore's pool lock (py-spy), which would have measured httpx rather than jobctl.
    The clients share one SSL context: httpx builds one per client by default (the CA
    bundle, ~20 ms of CPU each, although the URL is plain http), which made the 60 slots'
    first jobs hold the GIL for ~1.3 s at the start of the measured window.
    """
    global _ssl_context
    client: httpx.Client | None = getattr(_local, "client", None)
    if client is None:
        with _ssl_lock:
            if _ssl_context is None:
                _ssl_context = httpx.create_ssl_context()
        client = _local.client = httpx.Client(timeout=30.0, verify=_ssl_context)
    return client


class HttpWaitProcessor:
    job_type: ClassVar[str] = JOB_TYPE
    spec: ClassVar[JobTypeSpec] = JobTypeSpec(
        JOB_TYPE, "BENCH_HTTP_WAIT", None, HttpWaitPayload, any_queue=True
    )

    def run(self, payload: BaseModel, ctx: JobContext) -> Any:
        assert isinstance(payload, HttpWaitPayload)
        response = _client().get(payload.url)
        response.raise_for_status()
        return {"status": response.status_code}


def install_plugin(directory: Path) -> Path:
    """A directory holding a dist-info that registers the processor; put it on PYTHONPATH."""
    dist = directory / "jobctl_benchmarks_plugin-0.0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: jobctl-benchmarks-plugin\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text(
        f"[jobctl.processors]\n{JOB_TYPE} = benchmarks.http_wait:HttpWaitProcessor\n"
    )
    return directory


class SlowServer:
    """HTTP/1.1 on 127.0.0.1 answering every GET after `delay_s`, in its own process.

    asyncio in a subprocess (benchmarks/slow_http.py): a waiting request costs no thread, and
    the server's CPU is not taken from, or by, this process.
    """

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SlowServer:
        script = Path(__file__).with_name("slow_http.py")
        self._proc = subprocess.Popen(
            [sys.executable, str(script), str(self.delay_s)], stdout=subprocess.PIPE
        )
        assert self._proc.stdout is not None
        port = int(self._proc.stdout.readline().decode().strip() or "0")
        if not port:
            self.__exit__()
            raise RuntimeError("the benchmark HTTP server did not start")
        self.url = f"http://127.0.0.1:{port}/wait"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
            self._proc = None
