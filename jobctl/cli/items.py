"""`jobctl items list | show`: the context items synced from sources (articles, feed entries,
document chunks), newest first. Unknown ids exit 4, bad --since 3."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import age, info, print_json, table

if TYPE_CHECKING:
    from datetime import datetime

    from jobctl.api.context import ContextAPI

app = typer.Typer(help="Context items synced from sources: list and show.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _api() -> ContextAPI:
    from jobctl.api.context import ContextAPI

    return ContextAPI(STATE.api)


def _since(text: str | None) -> datetime | None:
    """'1h', '2d' (that long ago) or an ISO 8601 time."""
    from jobctl.domain.errors import InvalidInputError
    from jobctl.domain.timeparse import parse_duration, parse_when, utcnow

    if not text:
        return None
    try:
        return utcnow() - parse_duration(text)
    except ValueError:
        pass
    try:
        return parse_when(text)
    except ValueError:
        raise InvalidInputError(
            f"--since {text!r}: use a duration (30m, 1h, 2d) or an ISO 8601 time"
        ) from None


@app.command("list")
def list_items(
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation's items.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only items of this source id.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Fetched within: 30m, 1h, 2d; or an ISO time.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=10000, help="At most this many items.")
    ] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list (text: its first 200 characters).")
    ] = False,
) -> None:
    """Items, newest fetched first: title, source, publication date, size."""
    api = _api()
    if source is not None:
        api.get(source)  # an unknown source id is an error (exit 4), not an empty list
    items = api.items(organization_id=org, source_id=source, since=_since(since), limit=limit)
    if as_json:
        print_json([i.to_json(full_text=False) for i in items])
        return
    if not items:
        info("no items match")
        return
    table(
        None,
        ["ID", "SOURCE", "ORG", "TITLE", "PUBLISHED", "FETCHED", "CHARS"],
        [
            (
                i.id,
                i.source_id,
                i.organization_id,
                (i.title or i.url or "-")[:70],
                i.published_at.strftime("%Y-%m-%d") if i.published_at else "-",
                f"{age(i.fetched_at)} ago",
                len(i.text),
            )
            for i in items
        ],
    )


@app.command("show", no_args_is_help=True)
def show(
    item_id: Annotated[str, typer.Argument(metavar="ID", help="Item id (itm_...).")],
    as_json: JsonOption = False,
) -> None:
    """One item: where it came from, its metadata, then its whole text."""
    item = _api().item(item_id)
    if as_json:
        print_json(item.to_json())
        return
    out = sys.stdout
    pairs = [
        ("id", item.id), ("source", item.source_id), ("organization", item.organization_id),
        ("title", item.title or "-"), ("author", item.author or "-"), ("url", item.url or "-"),
        ("guid", item.guid or "-"),
        ("published", item.published_at.isoformat() if item.published_at else "-"),
        ("fetched", item.fetched_at.isoformat()), ("content hash", item.content_hash),
    ]  # fmt: skip
    for key, value in pairs:
        out.write(f"{key:>13}: {value}\n")
    out.write("\n" + item.text.rstrip() + "\n")
