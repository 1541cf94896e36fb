"""The embedded Redis, for real: start, share, race, fall back to a short socket, stop, survive crashes."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobctl.domain.errors import RedisUnavailableError
from jobctl.queue.connection import connect_redis, resolve_redis_url
from jobctl.queue.embedded_redis import (
    embedded_redis_status,
    embedded_redis_url,
    ensure_embedded_redis,
    redis_server_binary,
    socket_path,
    stop_embedded_redis,
)
from jobctl.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def servers_on(sock: Path) -> list[int]:
    """Pids of live redis-server processes serving `sock` (their process title names the socket)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_bytes().rpartition(b")")[2].split()[0]
        except OSError:
            continue
        if b"redis-server" in cmdline and os.fsencode(sock) in cmdline and state != b"Z":
            pids.append(int(entry.name))
    return pids


def settings_for(data_dir: Path) -> Settings:
    return Settings(redis_url=None, database_url=None, data_dir=data_dir)


def _cleanup(data_dir: Path) -> None:
    """Stop the data dir's server however it is doing; nothing started here may outlive the test."""
    sock = socket_path(data_dir)
    try:
        stop_embedded_redis(data_dir, timeout=5)
    finally:
        for pid in servers_on(sock):
            os.kill(pid, signal.SIGKILL)
        if sock.parent.name.startswith("jobctl-"):  # the /tmp fallback dir
            sock.unlink(missing_ok=True)
            sock.parent.rmdir()


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    yield path
    _cleanup(path)


@pytest.fixture
def long_data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / ("deeply-nested-" * 6) / "jobctl data"
    yield path
    _cleanup(path)


def test_start_and_connect(data_dir: Path) -> None:
    url = ensure_embedded_redis(data_dir)
    assert url == embedded_redis_url(data_dir) == f"unix://{data_dir}/redis/redis.sock?db=0"
    settings = settings_for(data_dir)
    assert resolve_redis_url(settings) == url
    client = connect_redis(settings)
    assert client.ping() is True
    assert client.set(b"k", b"v") and client.get(b"k") == b"v"  # bytes in, bytes out: what RQ needs
    info = client.info("server")
    assert info["tcp_port"] == 0  # no TCP listener at all: unix socket only
    assert str(info["redis_version"]).startswith("6.2")
    client.close()
    # Private: only this user can enter the directory or use the socket.
    assert stat.S_IMODE((data_dir / "redis").stat().st_mode) == 0o700
    assert stat.S_IMODE(socket_path(data_dir).stat().st_mode) == 0o700
    assert (data_dir / "redis" / "appendonly.aof").exists()


def test_second_ensure_reuses_the_server(data_dir: Path) -> None:
    ensure_embedded_redis(data_dir)
    first = embedded_redis_status(data_dir).pid
    ensure_embedded_redis(data_dir)
    assert embedded_redis_status(data_dir).pid == first
    assert servers_on(socket_path(data_dir)) == [first]


RACER = """
import sys, time
from pathlib import Path
from jobctl.queue.embedded_redis import ensure_embedded_redis
start_at = float(sys.argv[2])
time.sleep(max(0.0, start_at - time.time()))
print(ensure_embedded_redis(Path(sys.argv[1]), timeout=20))
"""


def test_concurrent_processes_end_up_with_one_server(data_dir: Path) -> None:
    start_at = time.time() + 1.5  # let all 8 interpreters boot, then race for real
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(data_dir), str(start_at)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _, err in results]
    assert {out.strip() for out, _ in results} == {embedded_redis_url(data_dir)}
    status = embedded_redis_status(data_dir)
    assert status.running
    assert servers_on(status.socket_path) == [status.pid]


def test_long_data_dir_uses_a_short_fallback_socket(long_data_dir: Path) -> None:
    assert len(os.fsencode(long_data_dir / "redis" / "redis.sock")) > 107
    url = ensure_embedded_redis(long_data_dir)
    sock = socket_path(long_data_dir)
    assert sock.parent.parent == Path("/tmp") and sock.parent.name.startswith(f"jobctl-{os.getuid()}-")
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
    assert url == f"unix://{sock}?db=0"
    assert connect_redis(settings_for(long_data_dir)).ping() is True
    # The AOF, pidfile and log stay in the data dir; only the socket moved.
    assert (long_data_dir / "redis" / "appendonly.aof").exists()
    assert embedded_redis_status(long_data_dir).running
    assert stop_embedded_redis(long_data_dir) is True
    assert not embedded_redis_status(long_data_dir).running


def test_status_and_stop(data_dir: Path) -> None:
    before = embedded_redis_status(data_dir)
    assert not before.running and before.pid is None
    assert before.binary == redis_server_binary()
    assert before.version is not None and before.version.startswith("6.2")
    assert stop_embedded_redis(data_dir) is False  # nothing to stop

    ensure_embedded_redis(data_dir)
    running = embedded_redis_status(data_dir)
    assert running.running and running.pid is not None
    assert running.socket_path == socket_path(data_dir) and running.data_dir == data_dir
    assert running.describe()["pid"] == running.pid

    assert stop_embedded_redis(data_dir) is True
    assert servers_on(running.socket_path) == []
    assert not embedded_redis_status(data_dir).running
    assert not running.socket_path.exists()
    with pytest.raises(RedisUnavailableError, match=r"cannot reach Redis at unix://"):
        connect_redis(Settings(redis_url=embedded_redis_url(data_dir), database_url=None, data_dir=data_dir))


def test_restart_after_kill_9_with_stale_files(data_dir: Path) -> None:
    ensure_embedded_redis(data_dir)
    client = connect_redis(settings_for(data_dir))
    client.set(b"rq:job:before-crash", b"queued")
    client.close()
    pid = embedded_redis_status(data_dir).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while servers_on(socket_path(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.02)
    # A crash leaves its pidfile and socket behind.
    assert (data_dir / "redis" / "redis.pid").exists() and socket_path(data_dir).exists()
    assert not embedded_redis_status(data_dir).running

    ensure_embedded_redis(data_dir)
    after = embedded_redis_status(data_dir)
    assert after.running and after.pid != pid
    client = connect_redis(settings_for(data_dir))
    # The write reached the AOF (in the page cache) before the reply, so even kill -9 keeps it.
    assert client.get(b"rq:job:before-crash") == b"queued"
    client.close()


def test_queued_data_survives_stop_and_restart(data_dir: Path) -> None:
    ensure_embedded_redis(data_dir)
    client = connect_redis(settings_for(data_dir))
    client.hset(b"rq:job:abc", mapping={b"status": b"queued", b"origin": b"context-scraping"})
    client.rpush(b"rq:queue:context-scraping", b"abc")
    client.close()
    assert stop_embedded_redis(data_dir) is True

    ensure_embedded_redis(data_dir)
    client = connect_redis(settings_for(data_dir))
    assert client.lrange(b"rq:queue:context-scraping", 0, -1) == [b"abc"]
    assert client.hget(b"rq:job:abc", b"status") == b"queued"
    client.close()


def test_unreachable_redis_error_masks_the_password(tmp_path: Path) -> None:
    settings = Settings(redis_url="redis://:pa55word@127.0.0.1:1/0", database_url=None, data_dir=tmp_path)
    with pytest.raises(RedisUnavailableError) as info:
        connect_redis(settings)
    assert "pa55word" not in str(info.value)
    assert str(info.value).startswith("cannot reach Redis at redis://:***@127.0.0.1:1/0: ")
    connect_redis(settings, check=False).close()  # lazy: no connection until first use


def test_missing_binary_override_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JOBCTL_REDIS_SERVER_BIN", str(tmp_path / "no-such-redis-server"))
    with pytest.raises(RedisUnavailableError, match=r"JOBCTL_REDIS_SERVER_BIN=.* is not an executable"):
        redis_server_binary()
    with pytest.raises(RedisUnavailableError):
        ensure_embedded_redis(tmp_path / "data", timeout=2)


def test_unusable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(RedisUnavailableError, match=r"cannot start the embedded Redis: .*file"):
        ensure_embedded_redis(tmp_path / "file" / "data")
