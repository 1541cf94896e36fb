"""Run one statement on PostgreSQL and let the caller work while the server runs and commits it.

Why: an enqueue is an INSERT and its commit (a round trip plus the server's WAL flush:
0.15-0.4 ms on the 2-core benchmark machine) followed by the RQ job, whose building and
packing is ~0.1 ms of Python. One after the other, the Python waited for the commit. Here the
statement goes out through libpq's asynchronous calls (psycopg's documented
`Connection.pgconn`), the caller's `meanwhile` runs while the server executes and commits it,
and only then is the result read: measured ~0.1 ms less a job for enqueue_job, ~0.3 s less
for an enqueue_many of 10,000.

Durability and ordering are unchanged: the statement carries its own Sync on a connection
with no transaction open, so it commits on its own exactly as in driver autocommit, and the
caller learns the outcome (and sends anything anywhere) only after the commit. `meanwhile`
must only compute; it must not write.

The statement is prepared once per pooled connection and parameter types (as psycopg
prepares repeated queries).
Parameters and results go through the same SQLAlchemy processors and psycopg adapters as
`jobctl.store.driver`. `Overlap.run` returns None when it cannot take this path (another
backend, someone listening for cursor executions, a connection inside a transaction): the
caller then runs `meanwhile` and the statement the usual way.
"""

from __future__ import annotations

import itertools
import select
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy.engine import Engine
from sqlalchemy.sql.expression import Executable

from jobctl.store.driver import DriverStatement

_PREPARED = "jobctl_overlap_prepared"  # pool record info: statements prepared on that connection
_MAX_PREPARED = 64  # per connection; beyond it, statements run unprepared
_names = itertools.count()


class OverlapStatement:
    """A Core statement compiled with $n parameters for libpq, and its prepared name."""

    def __init__(self, stmt: Executable, engine: Engine) -> None:
        dialect = cast(Any, type(engine.dialect))(paramstyle="numeric_dollar")
        self.compiled = DriverStatement(stmt, dialect)
        self.sql = self.compiled.sql.encode()
        self.name = f"jobctl_overlap_{next(_names)}".encode()


class Overlap:
    """Overlapped statements of one PostgreSQL engine (see the module doc)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._enabled = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        self._statements: dict[Any, OverlapStatement] = {}

    def run(
        self,
        key: Any,
        build: Callable[[], Executable],
        params: Mapping[str, Any],
        meanwhile: Callable[[], None],
    ) -> list[Sequence[Any]] | None:
        """Send the statement, call `meanwhile()`, then return the statement's rows (None: not
        possible here, nothing was sent and `meanwhile` was not called)."""
        if not self._enabled or self._observed():
            return None
        stmt = self._statements.get(key)
        if stmt is None:
            stmt = self._statements[key] = OverlapStatement(build(), self._engine)
        return _run(self._engine, stmt, params, meanwhile)

    def _observed(self) -> bool:
        dispatch = self._engine.dispatch
        return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute or self._engine.echo)


def _run(
    engine: Engine, stmt: OverlapStatement, params: Mapping[str, Any], meanwhile: Callable[[], None]
) -> list[Sequence[Any]] | None:
    import psycopg
    from psycopg import pq
    from psycopg.adapt import PyFormat, Transformer

    values = stmt.compiled.parameters(params)  # a plain TypeError/ValueError surfaces here, unsent
    fairy = engine.raw_connection()
    talking = False  # from the first byte sent until the last result read
    try:
        conn = fairy.dbapi_connection
        pgconn = conn.pgconn  # type: ignore[union-attr]
        if pgconn.transaction_status != pq.TransactionStatus.IDLE or pgconn.pipeline_status:
            return None  # not a lone statement that commits itself: take the usual path
        tx = Transformer(conn)  # type: ignore[arg-type]
        dumped = tx.dump_sequence(list(values), [PyFormat.AUTO] * len(values))
        talking = True
        name = _send(pgconn, fairy.info, stmt, tx, dumped)
        meanwhile()
        try:
            result = _result(pgconn)
        except psycopg.errors.InvalidSqlStatementName:
            if name is None:
                raise
            # The session lost our prepared statements: psycopg sends DEALLOCATE ALL after a
            # ROLLBACK (or a DROP) on a connection where it prepared statements of its own,
            # which killed `jobctl scheduler` ~10 s in. Nothing ran: prepare it again, once.
            fairy.info.pop(_PREPARED, None)
            _send(pgconn, fairy.info, stmt, tx, dumped)
            result = _result(pgconn)
        talking = False
        tx.set_pgresult(result)
        rows = tx.load_rows(0, result.ntuples, tuple) if result.ntuples else []
    except BaseException as exc:
        if talking:  # possibly mid-conversation (or still running the statement): never reuse it
            fairy.invalidate(exc if isinstance(exc, Exception) else None)
        raise
    finally:
        fairy.close()
    return stmt.compiled.convert(rows)


def _send(pgconn: Any, info: dict[Any, Any], stmt: OverlapStatement, tx: Any, dumped: Any) -> bytes | None:
    """Send `stmt` with its dumped values (prepared when it can be): the prepared name, or None."""
    name = _prepared(pgconn, info, stmt, tx.types or ())
    if name is None:
        pgconn.send_query_params(stmt.sql, dumped, param_types=tx.types, param_formats=tx.formats)
    else:
        pgconn.send_query_prepared(name, dumped, param_formats=tx.formats)
    _flush(pgconn)
    return name


def _prepared(
    pgconn: Any, info: dict[Any, Any], stmt: OverlapStatement, types: Sequence[int]
) -> bytes | None:
    """The name of `stmt` prepared on this connection for these parameter types (preparing
    it now if needed); None past _MAX_PREPARED. One statement per types, as psycopg does: the
    types follow the values (NULL or not, int2/int4/int8 by size), and a binary value must
    match the type it was prepared with."""
    prepared: dict[tuple[bytes, tuple[int, ...]], bytes] = info.setdefault(_PREPARED, {})
    key = (stmt.name, tuple(types))
    name = prepared.get(key)
    if name is None and len(prepared) < _MAX_PREPARED:
        name = b"%s_%d" % (stmt.name, len(prepared))
        pgconn.send_prepare(name, stmt.sql, param_types=types)
        _result(pgconn)
        prepared[key] = name
    return name


def _flush(pgconn: Any) -> None:
    while pgconn.flush():  # non-blocking connection: wait until the whole message is out
        _wait(pgconn.socket, write=True)


def _result(pgconn: Any) -> Any:
    """Wait for the statement's result (consuming every result up to the Sync); raise the
    psycopg error for a failed statement."""
    import psycopg
    from psycopg import pq

    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            break
        _wait(pgconn.socket)
    results = []
    while (res := pgconn.get_result()) is not None:
        results.append(res)
    for res in results:
        if res.status == pq.ExecStatus.FATAL_ERROR:
            sqlstate = (res.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
            message = res.error_message.decode(errors="replace").strip()
            try:
                cls = psycopg.errors.lookup(sqlstate)
            except KeyError:
                cls = psycopg.DatabaseError
            raise cls(message)
    if not results:
        raise psycopg.OperationalError("the server sent no result")
    return results[0]


def _wait(fd: int, *, write: bool = False) -> None:
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLOUT if write else select.POLLIN)
        poller.poll()
    else:  # pragma: no cover - not POSIX
        select.select([] if write else [fd], [fd] if write else [], [])
