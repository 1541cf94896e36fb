"""`jobctl accounts add | list | show | remove`: the social accounts publish-content posts through.

Tokens are never taken from argv (shell history, `ps`): `add` reads the access token from the
environment variable named by --token-env (default JOBCTL_ACCOUNT_ACCESS_TOKEN), or from the
first line of stdin with --token-stdin; the refresh token from --refresh-token-env (default
JOBCTL_ACCOUNT_REFRESH_TOKEN), when set. No output shows a token: only whether it is set.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import info, print_json, table
from jobctl.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from jobctl.api.accounts import AccountsAPI
    from jobctl.domain.accounts import SocialAccount

app = typer.Typer(
    help="Social accounts publish-content posts through (tokens never shown).", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AccountId = Annotated[str, typer.Argument(metavar="ACCOUNT", help="The account id (acc_...).")]


def _api() -> AccountsAPI:
    from jobctl.api.accounts import AccountsAPI

    return AccountsAPI(STATE.api)


def _show(account: SocialAccount) -> None:
    data = account.to_json()
    keys = ("id", "organization_id", "platform", "handle", "external_id", "status", "access_token",
            "refresh_token", "token_expires_at", "last_error", "updated_at")  # fmt: skip
    for key in keys:
        value = data[key]
        sys.stdout.write(f"{key.replace('_', ' '):>16}: {'-' if value is None else value}\n")


def _read_token(token_env: str, token_stdin: bool) -> str:
    if token_stdin:
        line = sys.stdin.readline().strip()
        if not line:
            raise InvalidInputError("--token-stdin: no token on the first line of stdin")
        return line
    value = os.environ.get(token_env, "").strip()
    if not value:
        raise InvalidInputError(
            f"no access token: set {token_env} (or pass --token-stdin and pipe it in); "
            "tokens are never read from the command line"
        )
    return value


@app.command("add", no_args_is_help=True)
def add(
    org: Annotated[str, typer.Argument(metavar="ORG", help="The organisation the account posts for.")],
    platform: Annotated[
        str, typer.Argument(metavar="PLATFORM", help="twitter (x), linkedin, facebook, instagram, threads.")
    ],
    handle: Annotated[
        str, typer.Argument(metavar="HANDLE", help="The account's handle or page name (for people).")
    ],
    external_id: Annotated[
        str,
        typer.Option(
            "--external-id",
            help="The platform's id: X user id, LinkedIn author URN, page / IG user / Threads user id.",
        ),
    ],
    token_env: Annotated[
        str, typer.Option("--token-env", help="Environment variable holding the access token.")
    ] = "JOBCTL_ACCOUNT_ACCESS_TOKEN",
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the access token from stdin's first line.")
    ] = False,
    refresh_env: Annotated[
        str, typer.Option("--refresh-token-env", help="Environment variable holding the refresh token.")
    ] = "JOBCTL_ACCOUNT_REFRESH_TOKEN",
    expires: Annotated[
        str | None, typer.Option("--expires-at", help="When the access token expires (ISO 8601).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add an account (its tokens from the environment or stdin, never from argv)."""
    from jobctl.api.accounts import NewAccount
    from jobctl.domain.accounts import check_external_id, check_platform
    from jobctl.domain.timeparse import parse_when

    check_platform(platform)  # bad arguments are reported before any token is asked for
    check_external_id(external_id)
    try:
        expires_at = parse_when(expires) if expires else None
    except ValueError as exc:
        raise InvalidInputError(f"--expires-at: {exc}") from None
    token = _read_token(token_env, token_stdin)
    refresh = os.environ.get(refresh_env, "").strip() or None
    account = _api().add(NewAccount(org, platform, handle, external_id, token, refresh, expires_at))
    if as_json:
        print_json(account.to_json())
        return
    info(f"added {account.platform} account {account.id} for {account.organization_id}")
    _show(account)


@app.command("list")
def list_accounts(
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation's accounts.")] = None,
    platform: Annotated[str | None, typer.Option("--platform", help="Only this platform's.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Social accounts, with their status (NEEDS_REAUTH: reconnect with a new token)."""
    accounts = _api().list_accounts(org, platform)
    if as_json:
        print_json([a.to_json() for a in accounts])
        return
    if not accounts:
        info("no social accounts (add one with `jobctl accounts add`)")
        return
    rows = [(a.id, a.organization_id, a.platform, a.handle, a.status.value) for a in accounts]
    table(None, ["ID", "ORG", "PLATFORM", "HANDLE", "STATUS"], rows)


@app.command("show", no_args_is_help=True)
def show(account_id: AccountId, as_json: JsonOption = False) -> None:
    """One account (tokens: only whether they are set)."""
    account = _api().get(account_id)
    if as_json:
        print_json(account.to_json())
        return
    _show(account)


@app.command("remove", no_args_is_help=True)
def remove(account_id: AccountId, as_json: JsonOption = False) -> None:
    """Remove an account and its tokens (its published content items stay)."""
    _api().remove(account_id)
    if as_json:
        print_json({"removed": account_id})
        return
    info(f"removed account {account_id}")
