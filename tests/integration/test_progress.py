"""ctx.progress / ctx.log through the worker's ProgressWriter into the real Redis: what a job
reports arrives in order, bounded by the caps, with a TTL, secrets masked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from jobctl.processors.base import JobContext
from jobctl.queue.progress import (
    ProgressWriter,
    delete_progress,
    logs_key,
    progress_key,
    read_activity,
    read_progress_many,
)


@pytest.fixture
def conn(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    try:
        yield c
    finally:
        c.close()


def _writer(conn: redis.Redis, **caps: int) -> ProgressWriter:
    opts = {"max_lines": 50, "max_bytes": 4096, "ttl_s": 600} | caps
    return ProgressWriter(conn, flush_s=0.05, **opts)


def _ctx(w: ProgressWriter, job_id: str, attempt: int = 1) -> JobContext:
    return JobContext(job_id, "ping", "q", attempt, 4, None, "w", sink=w)


def _kept_bytes(conn: redis.Redis, job_id: str) -> int:
    return sum(len(e) for e in conn.lrange(logs_key(job_id), 0, -1))


def test_progress_and_lines_arrive_in_order_with_their_fields(conn: redis.Redis) -> None:
    w = _writer(conn)
    _ctx(w, "j1", 2).progress(3, 10, "copying password=hunter2")
    for i in range(5):
        _ctx(w, "j1", 2).log(f"line {i}", n=i, url="https://u:secret@example.com/x")
    w.flush("j1")
    act = read_activity(conn, "j1", last=None)
    assert act.progress is not None
    assert (act.progress.done, act.progress.total, act.progress.fraction) == (3.0, 10.0, 0.3)
    assert act.progress.attempt == 2 and "hunter2" not in (act.progress.message or "")
    assert [line.seq for line in act.lines] == [1, 2, 3, 4, 5]
    assert [line.message for line in act.lines] == [f"line {i}" for i in range(5)]
    assert act.lines[4].fields["n"] == 4 and "secret" not in act.lines[4].fields["url"]
    assert act.lines_total == 5
    later = read_activity(conn, "j1", last=None, after_seq=3)
    assert [line.seq for line in later.lines] == [4, 5]
    assert 0 < conn.ttl(logs_key("j1")) <= 600 and 0 < conn.ttl(progress_key("j1")) <= 600


def test_the_background_thread_flushes_without_being_asked(conn: redis.Redis) -> None:
    w = _writer(conn)
    _ctx(w, "j2", 1).log("hello")
    deadline = time.monotonic() + 2
    while not conn.exists(logs_key("j2")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert read_activity(conn, "j2").lines[0].message == "hello"
    w.close()


def test_a_chatty_job_stays_within_the_line_and_byte_caps(conn: redis.Redis) -> None:
    w = _writer(conn, max_lines=100, max_bytes=2000)
    for i in range(20_000):  # far more than fits, sent in several flushes
        _ctx(w, "j3", 1).log(f"chatty {i}", i=i)
        if i % 3000 == 0:
            w.flush("j3")
    w.flush("j3")
    assert conn.llen(logs_key("j3")) <= 100
    assert _kept_bytes(conn, "j3") <= 2000
    assert int(conn.hget(progress_key("j3"), "bytes") or 0) == _kept_bytes(conn, "j3")
    act = read_activity(conn, "j3", last=None)
    assert act.lines_total == 20_000  # every line counted, kept or not
    assert act.lines[-1].message == "chatty 19999" and act.lines[-1].seq == 20_000
    assert act.dropped_before == act.lines[0].seq - 1 > 0


def test_one_huge_line_is_cut_to_fit_the_byte_cap(conn: redis.Redis) -> None:
    w = _writer(conn, max_lines=10, max_bytes=512)
    _ctx(w, "j4", 1).log("é" * 5000)
    w.flush("j4")
    (line,) = read_activity(conn, "j4", last=None).lines
    assert line.fields.get("truncated") is True and line.message.startswith("éé")
    assert _kept_bytes(conn, "j4") <= 512


def test_progress_of_many_and_delete(conn: redis.Redis) -> None:
    w = _writer(conn)
    _ctx(w, "a", 1).progress(1, None, None)
    _ctx(w, "b", 1).progress(5, 5, "done")
    _ctx(w, "c", 1).log("only lines", k="v")
    w.flush()
    got = read_progress_many(conn, ["a", "b", "c", "missing"])
    assert set(got) == {"a", "b"}
    assert got["a"].total is None and got["a"].fraction is None and got["b"].fraction == 1.0
    delete_progress(conn, "b")
    assert read_activity(conn, "b").progress is None


def test_the_light_client_reads_the_same_as_redis_py(conn: redis.Redis, redis_url: str) -> None:
    """`jobs show` / `jobs logs` read through jobctl.queue.light_redis (no redis-py import)."""
    from jobctl.domain.errors import RedisUnavailableError
    from jobctl.queue.light_redis import open_light
    from jobctl.queue.progress import read_activity_light

    w = _writer(conn)
    _ctx(w, "j5", 3).progress(2, 8, "half way? no, a quarter")
    for i in range(30):
        _ctx(w, "j5", 3).log(f"line {i}", i=i, note="ünïcode")
    w.flush()
    client = open_light(redis_url)  # the URL's database (/N) is selected
    assert client is not None
    with client:
        for last, after in ((None, 0), (5, 0), (0, 0), (None, 27)):
            assert read_activity_light(client, "j5", last=last, after_seq=after) == read_activity(
                conn, "j5", last=last, after_seq=after
            )
        assert read_activity_light(client, "nothing-here").progress is None
    assert open_light(redis_url + "?socket_timeout=3") is None  # an option it leaves to redis-py
    with pytest.raises(RedisUnavailableError) as err:
        open_light("redis://user:hunter2@127.0.0.1:1/0")
    assert "hunter2" not in err.value.message and "127.0.0.1:1" in err.value.message


def test_the_python_api_returns_progress_and_lines(conn: redis.Redis, redis_url: str, tmp_path: Any) -> None:
    """JobctlAPI.job_activity: through the light client in a fresh process (one-shot commands),
    through redis-py once the API has a client (the dashboard, enqueue --wait): the same answer."""
    from jobctl.api import JobActivity, JobctlAPI
    from jobctl.settings import load_settings

    w = _writer(conn)
    _ctx(w, "j6", 1).progress(1, 3, "one of three")
    for i in range(12):
        _ctx(w, "j6", 1).log(f"line {i}")
    w.flush()
    env = {"HOME": str(tmp_path), "JOBCTL_REDIS_URL": redis_url, "JOBCTL_DATA_DIR": str(tmp_path / "d")}
    api = JobctlAPI(load_settings(env=env))
    try:
        light = api.job_activity("j6")
        assert "redis" not in api.backends.__dict__  # it did not need redis-py
        assert isinstance(light, JobActivity) and light.progress is not None
        assert (light.progress.done, light.progress.total, light.progress.message) == (
            1.0,
            3.0,
            "one of three",
        )
        assert [x.message for x in light.lines] == [f"line {i}" for i in range(2, 12)]  # the last 10
        api.backends.redis.ping()
        assert api.job_activity("j6") == light
        assert api.job_activity("j6", last=None, after_seq=10).lines[0].seq == 11
    finally:
        api.close()


def test_the_light_client_authenticates_over_tcp_and_unix_sockets(tmp_path: Any) -> None:
    """A private redis-server with a password: the URL forms redis-py accepts for it work here."""
    import socket
    import subprocess

    from jobctl.domain.errors import RedisUnavailableError
    from jobctl.queue.embedded_redis import redis_server_binary
    from jobctl.queue.light_redis import open_light
    from jobctl.queue.progress import read_activity_light

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sock = tmp_path / "r.sock"
    server = subprocess.Popen(
        [str(redis_server_binary()), "--port", str(port), "--bind", "127.0.0.1", "--unixsocket", str(sock),
         "--requirepass", "pw:with@odd/chars", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        full = redis.Redis(host="127.0.0.1", port=port, password="pw:with@odd/chars", db=3)
        w = _writer(full)
        _ctx(w, "j7", 1).log("behind a password")
        w.flush()
        for url in (
            f"redis://:pw%3Awith%40odd%2Fchars@127.0.0.1:{port}/3",
            f"redis://default:pw%3Awith%40odd%2Fchars@127.0.0.1:{port}/3",
            f"unix://{sock}?db=3&password=pw:with@odd/chars",
        ):
            client = open_light(url)
            assert client is not None, url
            with client:
                (line,) = read_activity_light(client, "j7").lines
            assert line.message == "behind a password", url
        with pytest.raises(RedisUnavailableError) as err:
            open_light(f"redis://:wrong-secret@127.0.0.1:{port}/3")
        assert "wrong-secret" not in err.value.message
        full.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
