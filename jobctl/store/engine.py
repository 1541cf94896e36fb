"""Engines, schema revisions and database errors: how jobctl connects to its SQL store.

SQLite (the embedded default) is tuned for many processes sharing one file: WAL, a 10 s busy
timeout, `synchronous=NORMAL`, foreign keys on. PostgreSQL goes through psycopg 3 with a
pool that checks connections before handing them out (cheaply: see _pg_check_alive).

Transactions: on both backends the driver connection is in autocommit mode and a `begin`
event emits BEGIN itself. So `engine.begin()` / `engine.connect()` behave as usual (real
transactions), while `autocommit(engine)` skips BEGIN/COMMIT for single-statement
operations: one round trip instead of three on PostgreSQL (a single statement is atomic on
its own). It also makes `BEGIN IMMEDIATE` possible on SQLite (SQLITE_IMMEDIATE) where a
transaction reads before it writes, which pysqlite's own implicit BEGIN cannot do.

Schema checks are one query on `alembic_version` and never import alembic (slow to import);
only an actual upgrade does. Creating an engine does not connect: an unreachable database
surfaces on first use, which the repositories report as DatabaseUnavailableError.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError

from jobctl.domain.errors import ConfigError, DatabaseUnavailableError, SchemaOutOfDateError
from jobctl.domain.redaction import mask_url
from jobctl.store.db_errors import describe_db_error
from jobctl.store.revision import HEAD_REVISION, KNOWN_REVISIONS

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

AUTOCOMMIT = "jobctl_autocommit"
"""Connection execution option: emit no BEGIN; each statement commits on its own."""

SQLITE_IMMEDIATE = "jobctl_sqlite_immediate"
"""Connection execution option: start SQLite transactions with BEGIN IMMEDIATE (take the
write lock up front, so a read-then-write transaction cannot fail on a lock upgrade)."""

_PG_MIGRATION_LOCK = 0x6A6F6263746C  # "jobctl": advisory lock key serialising upgraders

PING_AFTER_IDLE_S = 5.0
"""A pooled PostgreSQL connection idle longer than this is pinged before use (see _pg_check_alive)."""
_IDLE_SINCE = "jobctl_idle_since"


def create_store_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An Engine for `url` (sqlite:///path or postgresql+psycopg://...), tuned for jobctl.

    `pool_size`: PostgreSQL connections kept open (bursts may open more, up to 30 in all).
    A worker passes its slot count: with 60 slots and the default 10, connections beyond the
    tenth were closed at every check-in and reopened at the next checkout (a PostgreSQL
    backend start and a SET round trip each): claim/complete took 17/13 ms on average in
    the 60-slot worker, 6/7 ms with a connection per slot.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"invalid database URL {mask_url(url)!r}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend in ("postgresql", "postgres"):
        # Plain postgresql:// would pick psycopg2, which jobctl does not ship.
        parsed = parsed.set(drivername="postgresql+psycopg")
        connect_args: dict[str, Any] = {"application_name": "jobctl"}
        if "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = 10
        # At most max(30, pool_size) connections, as before for pool_size 10: a 60-slot worker
        # must not take 85 of PostgreSQL's default 100.
        overflow = max(0, 30 - pool_size)
        engine = create_engine(parsed, pool_size=pool_size, max_overflow=overflow, connect_args=connect_args)
        event.listen(engine, "connect", _pg_autocommit)
        event.listen(engine, "connect", _pg_utc_session)
        event.listen(engine, "connect", _stamp_idle_since)
        event.listen(engine, "checkin", _pg_autocommit)
        event.listen(engine, "checkin", _stamp_idle_since)
        event.listen(engine, "checkout", _pg_check_alive)
        event.listen(engine, "begin", _on_begin)
        return engine
    raise ConfigError(
        f"unsupported database URL {mask_url(url)!r}: use sqlite:///PATH or postgresql+psycopg://..."
    )


_shared: dict[tuple[int, str], Engine] = {}
_shared_lock = threading.Lock()


def share_engine(url: str, engine: Engine) -> None:
    """Offer `engine` to whatever in this process asks `shared_engine(url)`. The worker shares
    its own, whose pool it sized to its slots: the processors' separate pools of 5-10 were too
    small for 60 slots, so every statement past them opened a PostgreSQL connection and closed
    it at check-in (connect, SET and close were ~a third of analytics-sync's SQL time in
    py-spy's samples), and one pool also keeps the server's connection count down."""
    with _shared_lock:
        _shared[(os.getpid(), url)] = engine


def unshare_engine(engine: Engine) -> None:
    """Stop offering `engine` (it is being disposed)."""
    with _shared_lock:
        for key in [k for k, e in _shared.items() if e is engine]:
            del _shared[key]


def shared_engine(url: str, *, pool_size: int = 5) -> Engine:
    """This process's engine for `url`: the one a worker shared, else one built here and kept
    (with `pool_size`). Keyed by pid too, so a forked child never uses its parent's pool."""
    key = (os.getpid(), url)
    with _shared_lock:
        engine = _shared.get(key)
        if engine is None:
            engine = _shared[key] = create_store_engine(url, pool_size=pool_size)
        return engine


def autocommit(engine: Engine) -> Engine:
    """`engine` for single statements: no BEGIN/COMMIT round trips (same pool)."""
    return engine.execution_options(**{AUTOCOMMIT: True})


def _pg_autocommit(dbapi_connection: Any, _record: Any) -> None:
    """Driver autocommit on every pooled connection; BEGIN comes from _on_begin.

    Also run at check-in: SQLAlchemy's isolation-level reset (after someone used the
    `isolation_level` execution option) turns autocommit off, and an AUTOCOMMIT statement on
    such a connection would then be rolled back at check-in instead of committed.
    """
    if dbapi_connection is None or dbapi_connection.autocommit:
        return
    with contextlib.suppress(Exception):  # broken connection: the pre-ping replaces it
        dbapi_connection.autocommit = True


def _pg_utc_session(dbapi_connection: Any, _record: Any) -> None:
    """Sessions in UTC, like everything in jobctl: timestamptz values then arrive as UTC
    datetimes that need no conversion (UTCDateTime), and date arithmetic in SQL is UTC."""
    dbapi_connection.execute("SET TIME ZONE 'UTC'")


def _stamp_idle_since(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info[_IDLE_SINCE] = time.monotonic()


def _pg_check_alive(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Pool checkout: hand out only live connections, without a round trip on hot paths.

    SQLAlchemy's pool_pre_ping sends `SELECT 1` at every checkout: a round trip per statement
    that was 15-20 % of an enqueue. A server that restarts, or ends an idle session, says so
    on the socket before closing it, so a connection back in the pool for under
    PING_AFTER_IDLE_S whose socket has nothing to read is alive. Anything else (data waiting,
    a longer idle time, during which a silent network drop could have happened) gets the real
    ping; a failed one makes the pool replace the connection (DisconnectionError).
    """
    if dbapi_connection.closed:
        raise DisconnectionError("connection closed")
    idle = time.monotonic() - record.info.get(_IDLE_SINCE, 0.0)
    try:
        if idle < PING_AFTER_IDLE_S and not select.select([dbapi_connection.fileno()], [], [], 0)[0]:
            return
        dbapi_connection.execute("SELECT 1")
    except Exception as exc:  # any failure here means: not usable, get another one
        raise DisconnectionError(f"connection failed its liveness check: {type(exc).__name__}") from exc


def _sqlite_autocommit(dbapi_connection: Any, _record: Any) -> None:
    """The SQLite twin of _pg_autocommit: pysqlite's implicit BEGIN off (isolation_level None)."""
    if dbapi_connection is None or dbapi_connection.isolation_level is None:
        return
    with contextlib.suppress(Exception):
        dbapi_connection.isolation_level = None


def _on_begin(connection: Connection) -> None:
    """Start a transaction by hand (the driver is in autocommit mode), unless AUTOCOMMIT.

    If an isolation level was set through SQLAlchemy for this checkout, the driver is out of
    autocommit mode and begins by itself: then there is nothing to do here.
    """
    options = connection.get_execution_options()
    if options.get(AUTOCOMMIT, False):
        return
    dbapi_connection = connection.connection.dbapi_connection
    if connection.dialect.name == "sqlite":
        if dbapi_connection is not None and dbapi_connection.isolation_level is None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(SQLITE_IMMEDIATE, False) else "BEGIN")
    elif dbapi_connection is not None and getattr(dbapi_connection, "autocommit", False):
        connection.exec_driver_sql("BEGIN")


def sqlite_path(engine: Engine) -> Path | None:
    """The database file of a SQLite engine (None for in-memory databases and other backends)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url)
    path = sqlite_path(engine)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailableError(
                f"cannot create the directory of the database at {mask_url(url)}: {exc.strerror or exc}"
            ) from exc

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's implicit BEGIN off (see _on_begin). busy_timeout first: the others may wait.
        _sqlite_autocommit(dbapi_connection, _record)
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA busy_timeout = 10000",
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA foreign_keys = ON",
        ):
            cursor.execute(pragma)
        cursor.close()

    event.listen(engine, "checkin", _sqlite_autocommit)
    event.listen(engine, "begin", _on_begin)
    return engine


def current_revision(engine: Engine) -> str | None:
    """The schema revision recorded in the database; None for a database jobctl never set up."""
    try:
        with autocommit(engine).connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError as exc:
        if _is_missing_table(exc):
            return None
        raise _unavailable(engine, exc) from exc
    return rows[0] if rows else None


def _is_missing_table(exc: DBAPIError) -> bool:
    orig = exc.orig
    if type(orig).__name__ == "UndefinedTable":  # psycopg.errors.UndefinedTable
        return True
    return "no such table" in str(orig)


def ensure_schema(engine: Engine, *, auto_upgrade: bool) -> None:
    """Make sure the schema is at HEAD_REVISION: upgrade it (embedded SQLite), or refuse.

    Refusing raises SchemaOutOfDateError naming both revisions and the command to run; a
    database newer than this jobctl is refused either way (downgrading is not automatic).
    """
    current = current_revision(engine)
    if current == HEAD_REVISION:
        return
    if current is not None and current not in KNOWN_REVISIONS:
        raise SchemaOutOfDateError(
            f"database schema is at {current}, newer than this jobctl knows ({HEAD_REVISION}): upgrade jobctl"
        )
    if auto_upgrade:
        upgrade_schema(engine)
        return
    shown = current or "nothing (empty database)"
    raise SchemaOutOfDateError(
        f"database schema is at {shown}, jobctl needs {HEAD_REVISION}: run `jobctl db upgrade`"
    )


def upgrade_schema(engine: Engine) -> tuple[str | None, str]:
    """Run alembic `upgrade head` on `engine`; return (revision before, revision after).

    Safe to run from many processes at once: SQLite upgraders take a file lock next to the
    database file, PostgreSQL ones an advisory lock, so the second one finds the work done.
    """
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with (
            _migration_lock(engine),
            engine.connect().execution_options(**{SQLITE_IMMEDIATE: True}) as conn,
            conn.begin(),
        ):
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            # Read "before" under the lock: a concurrent upgrader may just have finished.
            before = MigrationContext.configure(conn).get_current_revision()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            after = MigrationContext.configure(conn).get_current_revision()
    except DBAPIError as exc:
        raise _unavailable(engine, exc) from exc
    finally:
        config.attributes.pop("connection", None)
    if after is None:  # pragma: no cover - alembic always stamps
        raise SchemaOutOfDateError("the schema upgrade did not record a revision")
    return before, after


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """An exclusive fcntl lock on `<db file>.migrate.lock` for SQLite files; a no-op otherwise."""
    path = sqlite_path(engine)
    if path is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: BEGIN + alembic's checks must do
        yield
        return
    lock_path = path.with_name(path.name + ".migrate.lock")
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def engine_label(engine: Engine) -> str:
    """The engine's URL with its password masked, for messages."""
    return engine.url.render_as_string(hide_password=True)


def _unavailable(engine: Engine, exc: BaseException) -> DatabaseUnavailableError:
    return DatabaseUnavailableError(describe_db_error(engine_label(engine), exc))
