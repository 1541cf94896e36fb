"""Run the store's hottest Core statements straight on the pooled DBAPI connection.

Why: measured on the 2-core benchmark machine, SQLAlchemy's per-execution machinery
(Connection, execution context, cache key, CursorResult, row-by-row fetchone) cost 250-400 µs
per statement, more than a PostgreSQL commit round trip (~200 µs) and four times a SQLite
insert (~90 µs): it made enqueue_job half as fast as raw RQ and `jobs list` 5x the raw query.

What stays SQLAlchemy's: the statement (a Core construct, compiled once per dialect, so
there is one definition of each query), the bind and result type processing (the same
processors SQLAlchemy would call: UTCDateTime, JSON), the connection pool with its events
(autocommit mode, liveness check). What is skipped: the per-call plumbing in between.
Only statements whose binds are all scalar (no expanding IN, no post-compile parameters) can
run here; `DriverStatement` refuses the others at compile time.

Observability wins over speed: while anyone listens for cursor executions on the engine
(tests capturing SQL, tracing, `echo`), statements go through SQLAlchemy as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

from jobctl.store.engine import SQLITE_IMMEDIATE, autocommit

Processor = Callable[[Any], Any] | None
MAX_STATEMENTS = 512  # compiled statements kept per engine


class DriverStatement:
    """One Core statement compiled for one dialect: its SQL text, how to build its parameters
    from the caller's p_* values, and how to convert the rows it returns."""

    def __init__(
        self, stmt: Executable, dialect: Dialect, columns: Sequence[ColumnElement[Any]] = ()
    ) -> None:
        self.clause = stmt
        compiled = cast(ClauseElement, stmt).compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("statements with expanding or post-compile binds cannot run on the driver")
        self.sql = compiled.string
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        order = compiled.positiontup if dialect.positional and compiled.positiontup else list(by_name)
        self.positional = bool(dialect.positional)
        # (name, key the caller gives or None for a constant, the constant, bind processor)
        self._binds: list[tuple[str, str | None, Any, Processor]] = []
        for name in order:
            bind = by_name[name]
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.required:
                self._binds.append((name, bind.key, None, processor))
            else:
                self._binds.append((name, None, bind.effective_value, processor))
        results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        self.processors: Sequence[Processor] = results  # by column: what `convert` applies
        self._converting = [(i, p) for i, p in enumerate(results) if p is not None]
        self.cache: dict[str, Any] = {}  # what callers derive from this compiled statement

    def parameters(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = []
        for _name, key, constant, processor in self._binds:
            value = params[key] if key is not None else constant
            values.append(processor(value) if processor is not None and value is not None else value)
        if self.positional:
            return values
        return {name: value for (name, *_), value in zip(self._binds, values, strict=True)}

    def convert(self, rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        if not self._converting:
            return list(rows)
        out: list[Sequence[Any]] = []
        for row in rows:
            values = list(row)
            for i, processor in self._converting:
                values[i] = processor(values[i])
            out.append(values)
        return out


class Driver:
    """DriverStatements of one engine, compiled on first use and cached by statement."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._auto = autocommit(engine)
        self._dialect = engine.dialect
        self._compiled: dict[Any, DriverStatement] = {}
        # The driver's error for a value the database refuses (PostgreSQL: NaN or NUL in JSON).
        self.data_error: type[Exception] = getattr(engine.dialect.loaded_dbapi, "DataError", Exception)

    def statement(
        self, key: Any, build: Callable[[], Executable], columns: Sequence[ColumnElement[Any]] = ()
    ) -> DriverStatement:
        """The compiled statement for `key`, building and compiling it on first use."""
        compiled = self._compiled.get(key)
        if compiled is None:
            if len(self._compiled) >= MAX_STATEMENTS:  # e.g. many list shapes: start over
                self._compiled.clear()
            compiled = DriverStatement(build(), self._dialect, columns)
            self._compiled[key] = compiled
        return compiled

    def rows(self, stmt: DriverStatement, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        """Execute; the converted rows it returns (all fetched at once)."""
        if self._observed():
            with self._auto.connect() as conn:
                return list(conn.execute(stmt.clause, params).all())
        with self._cursor() as cursor:
            cursor.execute(stmt.sql, stmt.parameters(params))
            raw = cursor.fetchall()
        return stmt.convert(raw)

    def raw_rows(self, stmt: DriverStatement, params: Mapping[str, Any]) -> list[Sequence[Any]] | None:
        """Execute; the rows as the driver returns them (`stmt.processors` not applied yet), or
        None while the engine is observed: then call `rows`, which goes through SQLAlchemy."""
        if self._observed():
            return None
        with self._cursor() as cursor:
            cursor.execute(stmt.sql, stmt.parameters(params))
            return cast(list[Sequence[Any]], cursor.fetchall())

    def rowcount(self, stmt: DriverStatement, params: Mapping[str, Any]) -> int:
        """Execute a statement that returns no rows; how many rows it changed."""
        if self._observed():
            with self._auto.connect() as conn:
                return int(conn.execute(stmt.clause, params).rowcount)
        with self._cursor() as cursor:
            cursor.execute(stmt.sql, stmt.parameters(params))
            return int(cursor.rowcount)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Several statements in one transaction on one connection, committed at the end and
        rolled back on an exception. SQLite takes its write lock up front (BEGIN IMMEDIATE), so
        a transaction that reads before it writes cannot fail on a lock upgrade."""
        if self._observed():
            options = {SQLITE_IMMEDIATE: True}
            with self._engine.connect().execution_options(**options) as conn, conn.begin():
                yield _ObservedTransaction(conn)
            return
        begin = "BEGIN IMMEDIATE" if self._dialect.name == "sqlite" else "BEGIN"
        with self._cursor() as cursor:
            cursor.execute(begin)
            try:
                yield _CursorTransaction(cursor)
            except BaseException:
                with suppress(Exception):  # a broken connection rolled back already
                    cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def _observed(self) -> bool:
        dispatch = self._auto.dispatch
        return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute or self._engine.echo)

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        """A cursor on a pooled connection (driver autocommit: each statement commits itself).

        A disconnect invalidates the connection, as SQLAlchemy would, so the pool replaces it.
        """
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
        except self._dialect.loaded_dbapi.Error as exc:
            if self._dialect.is_disconnect(exc, connection.dbapi_connection, None):
                connection.invalidate(exc)
            raise
        finally:
            connection.close()


class Transaction(Protocol):
    """The statements of one Driver.transaction: rows and rowcount as on the Driver."""

    def rows(self, stmt: DriverStatement, params: Mapping[str, Any]) -> list[Sequence[Any]]: ...

    def rowcount(self, stmt: DriverStatement, params: Mapping[str, Any]) -> int: ...


class _CursorTransaction:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def rows(self, stmt: DriverStatement, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        self._cursor.execute(stmt.sql, stmt.parameters(params))
        return stmt.convert(self._cursor.fetchall())

    def rowcount(self, stmt: DriverStatement, params: Mapping[str, Any]) -> int:
        self._cursor.execute(stmt.sql, stmt.parameters(params))
        return int(self._cursor.rowcount)


class _ObservedTransaction:
    """Through SQLAlchemy, so whoever listens to the engine sees every statement."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def rows(self, stmt: DriverStatement, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        return list(self._conn.execute(stmt.clause, params).all())

    def rowcount(self, stmt: DriverStatement, params: Mapping[str, Any]) -> int:
        return int(self._conn.execute(stmt.clause, params).rowcount)
