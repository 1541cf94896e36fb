"""`jobctl tokens create | list | revoke`: bearer tokens of the HTTP API (`jobctl api`).

The secret is printed once, by `create`; only its SHA-256 digest is stored.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import info, print_json, table

if TYPE_CHECKING:
    from jobctl.api.tokens import TokenAPI

app = typer.Typer(help="API tokens of the HTTP API (jobctl api).", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _api() -> TokenAPI:
    from jobctl.api.tokens import TokenAPI

    return TokenAPI(STATE.api)


@app.command("create")
def create(
    org: Annotated[str | None, typer.Option("--org", help="The organisation whose jobs it may see.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name to recognise it by.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Operators: every organisation's jobs.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a token and print it (once: it cannot be shown again)."""
    record, secret = _api().create(org, name, admin=admin)
    if as_json:
        print_json({**record.to_json(), "token": secret})
        return
    sys.stdout.write(secret + "\n")
    scope = "admin (every organization)" if record.admin else f"organization {record.organization_id}"
    info(f"token {record.id} ({record.name}) for {scope}: store it now, it is not shown again")


@app.command("list")
def list_tokens(
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation's tokens.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Tokens (never their secrets), newest first."""
    rows = _api().list(org)
    if as_json:
        print_json([r.to_json() for r in rows])
        return
    if not rows:
        info("no tokens")
        return
    table(
        None,
        ["ID", "NAME", "ORG", "ADMIN", "CREATED", "REVOKED"],
        [
            (
                r.id, r.name, r.organization_id or "-", "yes" if r.admin else "",
                r.created_at.strftime("%Y-%m-%d %H:%M"),
                r.revoked_at.strftime("%Y-%m-%d %H:%M") if r.revoked_at else "",
            )
            for r in rows
        ],
    )  # fmt: skip


@app.command("revoke", no_args_is_help=True)
def revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (tok_...).")],
    as_json: JsonOption = False,
) -> None:
    """Revoke a token: its next request answers 401."""
    record = _api().revoke(token_id)
    if as_json:
        print_json(record.to_json())
        return
    info(f"revoked token {record.id} ({record.name})")
