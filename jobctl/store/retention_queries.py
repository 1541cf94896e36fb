"""The SQL of retention: delete rows older than a cutoff in bounded batches, count them (a dry
run), and measure tables (`jobctl doctor`).

A rule (jobctl.domain.retention.RULES) names its table by name: the Core table comes from
METADATA, and a table that METADATA does not know or the database does not have is skipped
(`table()` returns None), so a rule can land before its table. A batch is one short
transaction: the oldest `limit` rows by the rule's (indexed) time column, deleted by their row
ids with the age re-tested. Finished jobs go through OpsQueries.delete_batch (by primary key,
with their attempt rows; PENDING/RUNNING never match), the path `jobs purge` uses.

Sizes: PostgreSQL says a table's bytes (pg_total_relation_size: heap, indexes and TOAST) and
estimates its rows (pg_class.reltuples); SQLite's bytes come from the dbstat virtual table
when it is compiled in (it is in CPython's builds) and its rows from a count. Counts stop at a
cap, so doctor stays fast on a table of millions of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, inspect, literal, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from jobctl.domain.bulk import PURGEABLE, JobSelection
from jobctl.domain.errors import DatabaseUnavailableError
from jobctl.domain.retention import JOBS_TABLE, RetentionRule
from jobctl.store.db_errors import database_errors, describe_db_error
from jobctl.store.engine import autocommit, engine_label
from jobctl.store.ops_queries import OpsQueries
from jobctl.store.tables import METADATA

COUNT_CAP = 100_000  # exact row counts stop here; past it PostgreSQL's estimate is shown


def finished_before(cutoff: datetime) -> JobSelection:
    """The jobs the retention rule removes: every final status, finished before `cutoff`."""
    return JobSelection(PURGEABLE, finished_before=cutoff)


@dataclass(frozen=True)
class TableSize:
    table: str
    rows: int
    rows_estimated: bool  # rows is PostgreSQL's estimate (an exact count passed COUNT_CAP)
    bytes: int | None  # None: the backend cannot say (SQLite without dbstat)
    oldest: datetime | None  # the smallest value of the rule's time column (jobs: finished ones)


class RetentionQueries:
    """Over one Engine (thread-safe: each call checks out its own connection)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._auto = autocommit(engine)
        self._label = engine_label(engine)
        self.ops = OpsQueries(engine)
        self._present: set[str] | None = None

    def _fail(self, exc: BaseException) -> DatabaseUnavailableError:
        return DatabaseUnavailableError(describe_db_error(self._label, exc))

    @property
    def backend(self) -> str:
        return self._engine.dialect.name

    def table(self, name: str) -> Table | None:
        """The Core table of a rule, or None when jobctl or the database has no such table."""
        known = METADATA.tables.get(name)
        if known is None:
            return None
        if self._present is None:
            try:
                self._present = set(inspect(self._engine).get_table_names())
            except database_errors() as exc:
                raise self._fail(exc) from exc
        return known if name in self._present else None

    # -- deletes and counts --------------------------------------------------------------------

    def delete_jobs(self, cutoff: datetime, limit: int) -> list[tuple[str, str]]:
        """Up to `limit` finished jobs older than `cutoff`, deleted with their attempt rows in
        one transaction; (id, queue) of each (its Redis side is the caller's to delete)."""
        return self.ops.delete_batch(finished_before(cutoff), limit)

    def delete_older(self, rule: RetentionRule, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` rows of `rule`'s table older than `cutoff`, oldest first, in one
        statement (so one transaction); how many went.

        The rows are named by their physical row id, whatever the primary key (schedule_firings
        has two columns): PostgreSQL's `ctid = ANY(ARRAY(SELECT ctid ... ORDER BY t LIMIT n))`
        evaluates the ids first, as an index range of the time column, then fetches each row by
        its id (a TID scan). `key IN (SELECT ... LIMIT n)` was planned as a hash join against a
        sequential scan of the whole table, every batch. SQLite: `rowid IN (...)`, its key. A
        row updated meanwhile has a new ctid and is left for the next sweep."""
        table = self._required(rule)
        quote = self._engine.dialect.identifier_preparer
        name, col = quote.format_table(table), quote.quote(rule.time_column)
        rid = "ctid" if self.backend == "postgresql" else "rowid"
        chosen = f"SELECT {rid} FROM {name} WHERE {col} < :cutoff ORDER BY {col} LIMIT :n"
        where = f"ctid = ANY(ARRAY({chosen}))" if rid == "ctid" else f"rowid IN ({chosen})"
        stmt = text(f"DELETE FROM {name} WHERE {where} AND {col} < :cutoff").bindparams(
            bindparam("cutoff", type_=table.c[rule.time_column].type), bindparam("n")
        )
        try:
            with self._engine.begin() as conn:
                return int(conn.execute(stmt, {"cutoff": cutoff, "n": limit}).rowcount or 0)
        except database_errors() as exc:
            raise self._fail(exc) from exc

    def count_older(self, rule: RetentionRule, cutoff: datetime) -> int:
        """How many rows a sweep would delete now (exact: a dry run's figure)."""
        if rule.table == JOBS_TABLE:
            return sum(self.ops.count_by_status(finished_before(cutoff)).values())
        table = self._required(rule)
        stmt = select(func.count()).select_from(table).where(table.c[rule.time_column] < cutoff)
        return int(self._scalar(stmt) or 0)

    def _required(self, rule: RetentionRule) -> Table:
        table = self.table(rule.table)
        if table is None:
            raise ValueError(f"no table {rule.table}: check RetentionQueries.table first")
        return table

    def _scalar(self, stmt: Any, params: dict[str, Any] | None = None) -> Any:
        try:
            with self._auto.connect() as conn:
                return conn.execute(stmt, params or {}).scalar()
        except database_errors() as exc:
            raise self._fail(exc) from exc

    # -- sizes -----------------------------------------------------------------------------------

    def size(self, rule: RetentionRule, *, cap: int = COUNT_CAP) -> TableSize | None:
        """Rows, bytes and the oldest time of `rule`'s table; None when the table is absent."""
        table = self.table(rule.table)
        if table is None:
            return None
        rows = int(self._scalar(select(func.count()).select_from(select(literal(1)).select_from(table)
                                                                  .limit(cap).subquery())) or 0)  # fmt: skip
        estimated = False
        if self.backend == "postgresql" and rows >= cap:
            guess = self._scalar(text("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(:t)"),
                                 {"t": table.name})  # fmt: skip
            rows, estimated = max(rows, int(guess or 0)), True
        return TableSize(table.name, rows, estimated, self._bytes(table), self._oldest(rule, table))

    def _bytes(self, table: Table) -> int | None:
        if self.backend == "postgresql":
            size = self._scalar(text("SELECT pg_total_relation_size(to_regclass(:t))"), {"t": table.name})
            return int(size)
        # dbstat sums the pages of the table and of its indexes (a walk of their b-trees).
        stmt = text(
            "SELECT sum(pgsize) FROM dbstat WHERE name = :t OR name IN "
            "(SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = :t)"
        )
        try:
            with self._auto.connect() as conn:
                value = conn.execute(stmt, {"t": table.name}).scalar()
        except DBAPIError:  # no dbstat in this SQLite build
            return None
        return int(value) if value is not None else 0

    def _oldest(self, rule: RetentionRule, table: Table) -> datetime | None:
        """min(time column): an index's first entry. For jobs, the finished ones, per final
        status (three short ranges of ix_jobs_status_finished_at, not a scan)."""
        column = table.c[rule.time_column]
        if rule.table != JOBS_TABLE:
            return _aware(self._scalar(select(func.min(column))))
        found = []
        for status in PURGEABLE:
            where = (table.c.status == status.value, column.is_not(None))
            found.append(_aware(self._scalar(select(func.min(column)).where(*where))))
        return min((f for f in found if f is not None), default=None)

    def database_bytes(self) -> int | None:
        """The whole database: pg_database_size, or SQLite's page_count * page_size."""
        if self.backend == "postgresql":
            return int(self._scalar(text("SELECT pg_database_size(current_database())")))
        count = self._scalar(text("PRAGMA page_count"))
        page = self._scalar(text("PRAGMA page_size"))
        return int(count) * int(page) if count is not None and page is not None else None


def _aware(value: datetime | str | None) -> datetime | None:
    """Aggregates skip the column type: SQLite hands back the stored text (naive UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
