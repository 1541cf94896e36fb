"""The raw-driver baseline of `jobctl jobs list --status failed --limit 50` as a command.

Run by path (`python benchmarks/raw_list.py pg CONNINFO [OPTIONS]` or `... sqlite PATH`), not
as part of the package, so the baseline process imports only the driver: connect, run the
same query, print the rows.
"""

from __future__ import annotations

import sys

COLUMNS = (
    "id, type, queue, status, organization_id, payload, result, error_type, error_message, "
    "error_traceback, attempts, max_attempts, schedule_id, scheduled_for, next_attempt_at, "
    "created_at, started_at, finished_at, updated_at, worker"
)
QUERY = f"SELECT {COLUMNS} FROM jobs WHERE status = {{p}} ORDER BY created_at DESC, id DESC LIMIT 50"


def fetch(backend: str, target: str, options: str = "") -> list[tuple[object, ...]]:
    if backend == "pg":
        import psycopg

        with psycopg.connect(target, options=options, autocommit=True) as pg:
            return pg.execute(QUERY.format(p="%s"), ("FAILED",)).fetchall()
    import sqlite3

    lite = sqlite3.connect(target)
    try:
        return lite.execute(QUERY.format(p="?"), ("FAILED",)).fetchall()
    finally:
        lite.close()


def main() -> None:
    rows = fetch(*sys.argv[1:4])
    out = sys.stdout
    for row in rows:
        out.write("\t".join("" if v is None else str(v)[:60] for v in row) + "\n")


if __name__ == "__main__":
    main()
