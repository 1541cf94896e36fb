"""The floor of `jobctl jobs list --status failed --limit 50` as a command on jobctl's stack.

Run by path (`python benchmarks/raw_list_cli.py --status failed --limit 50 -- pg CONNINFO
OPTIONS`, or `... -- sqlite PATH ""`): a one-command Typer app (the CLI framework jobctl must use,
which parses and coerces options through pydantic) that runs the same query through the raw
driver and prints the same nine columns as a rich table. What jobctl's wall time adds to this
is jobctl's own cost: settings, the store, the schema check, the records.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from raw_list import fetch  # a sibling script, not a package module

app = typer.Typer()


@app.command()
def main(
    backend: str,
    target: str,
    options: str,
    status: Annotated[list[str] | None, typer.Option("--status", "-s")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000)] = 50,
) -> None:
    if status != ["failed"] or limit != 50:
        raise typer.BadParameter("the baseline runs only --status failed --limit 50")
    from rich.console import Console
    from rich.table import Table

    now = datetime.now(UTC)
    table = Table(header_style="bold", box=None, pad_edge=False)
    for name in ("ID", "TYPE", "QUEUE", "STATUS", "ORG", "TRIES", "AGE", "TOOK", "ERROR"):
        table.add_column(name, overflow="fold")
    for row in fetch(backend, target, options):
        created = _utc(row[15])
        took = (_utc(row[17]) - _utc(row[16])).total_seconds() if row[16] and row[17] else None
        table.add_row(
            str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4] or "-"),
            f"{row[10]}/{row[11]}", f"{int((now - created).total_seconds())}s",
            "-" if took is None else f"{took:.2f}s", f"{row[7]}: {row[8]}"[:60] if row[7] else "",
        )  # fmt: skip
    Console(soft_wrap=False, width=240).print(table)


def _utc(value: object) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(f"{value}+00:00")


if __name__ == "__main__":
    app()
