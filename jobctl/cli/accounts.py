"""`jobctl accounts`: the social accounts jobs post and sync through, and their token keys.

add | list | show | disable | reconnect | reauth-needed | remove, and for the keys that encrypt
the tokens at rest (JOBCTL_TOKEN_KEYS): new-key | encrypt-existing | rotate-key.

Tokens are never taken from argv (shell history, `ps`): `add` and `reconnect` read them from
--token-file / --refresh-token-file, stdin (--token-stdin) or an environment variable (see
jobctl.cli.token_input). No output shows a token: only whether it is set. Listing and showing
need no key; adding, reconnecting and re-encrypting do.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import info, print_json, table
from jobctl.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from datetime import datetime

    from jobctl.api.accounts import AccountsAPI, ReencryptReport
    from jobctl.cli.token_input import TokenSources
    from jobctl.domain.accounts import AccountInfo

app = typer.Typer(
    help="Social accounts jobs post and sync through (tokens encrypted, never shown).", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AccountId = Annotated[str, typer.Argument(metavar="ACCOUNT", help="The account id (acc_...).")]
TokenFile = Annotated[
    Path | None, typer.Option("--token-file", help="File holding the access token (one line; - is stdin).")
]
RefreshFile = Annotated[
    Path | None, typer.Option("--refresh-token-file", help="File holding the refresh token (one line).")
]
TokenStdin = Annotated[
    bool,
    typer.Option("--token-stdin", help="Read the access token from stdin's first line, the refresh token "
                 "from its second (a no-echo prompt on a terminal)."),
]  # fmt: skip
TokenEnv = Annotated[str, typer.Option("--token-env", help="Environment variable holding the access token.")]
RefreshEnv = Annotated[
    str, typer.Option("--refresh-token-env", help="Environment variable holding the refresh token.")
]
Expires = Annotated[
    str | None, typer.Option("--expires-at", help="When the access token expires (ISO 8601).")
]
Scopes = Annotated[
    str | None, typer.Option("--scopes", help="The grant's OAuth scopes, space- or comma-separated.")
]
ACCESS_ENV, REFRESH_ENV = "JOBCTL_ACCOUNT_ACCESS_TOKEN", "JOBCTL_ACCOUNT_REFRESH_TOKEN"


def _api() -> AccountsAPI:
    from jobctl.api.accounts import AccountsAPI

    return AccountsAPI(STATE.api)


def _show(account: AccountInfo) -> None:
    data = account.to_json()
    data["scopes"] = " ".join(data["scopes"]) or None
    keys = ("id", "organization_id", "platform", "handle", "external_id", "status", "access_token",
            "refresh_token", "tokens_encrypted", "scopes", "token_expires_at", "last_synced_at",
            "last_error", "updated_at", "action")  # fmt: skip
    for key in keys:
        value = data[key]
        sys.stdout.write(f"{key.replace('_', ' '):>16}: {'-' if value is None else value}\n")


def _expires(value: str | None) -> datetime | None:
    from jobctl.domain.timeparse import parse_when

    try:
        return parse_when(value) if value else None
    except ValueError as exc:
        raise InvalidInputError(f"--expires-at: {exc}") from None


def _tokens(src: TokenSources) -> tuple[str, str | None]:
    from jobctl.cli.token_input import read_tokens

    return read_tokens(src)


def _sources(
    token_file: Path | None, refresh_file: Path | None, stdin: bool, env: str, refresh_env: str
) -> TokenSources:
    from jobctl.cli.token_input import TokenSources

    return TokenSources(token_file, refresh_file, stdin, env, refresh_env)


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
    token_file: TokenFile = None,
    refresh_file: RefreshFile = None,
    token_stdin: TokenStdin = False,
    token_env: TokenEnv = ACCESS_ENV,
    refresh_env: RefreshEnv = REFRESH_ENV,
    expires: Expires = None,
    scopes: Scopes = None,
    as_json: JsonOption = False,
) -> None:
    """Add an account (its tokens from a file, stdin or the environment, never from argv)."""
    from jobctl.api.accounts import NewAccount
    from jobctl.domain.accounts import check_external_id, check_platform

    check_platform(platform)  # bad arguments are reported before any token is asked for
    check_external_id(external_id)
    expires_at = _expires(expires)
    api = _api()
    api.require_key()
    token, refresh = _tokens(_sources(token_file, refresh_file, token_stdin, token_env, refresh_env))
    account = api.add(NewAccount(org, platform, handle, external_id, token, refresh, expires_at, scopes))
    if as_json:
        print_json(account.to_json())
        return
    info(f"added {account.platform} account {account.id} for {account.organization_id}")
    _show(account)


@app.command("list")
def list_accounts(
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation's accounts.")] = None,
    platform: Annotated[str | None, typer.Option("--platform", help="Only this platform's.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only CONNECTED, NEEDS_REAUTH or DISABLED ones.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Social accounts, with their status (NEEDS_REAUTH: reconnect with new tokens)."""
    from jobctl.cli.output import age

    accounts = _api().list_accounts(org, platform, status)
    if as_json:
        print_json([a.to_json() for a in accounts])
        return
    if not accounts:
        info("no social accounts (add one with `jobctl accounts add`)")
        return
    rows = [
        (a.id, a.organization_id, a.platform, a.handle, a.status.value,
         a.token_expires_at.isoformat(timespec="minutes") if a.token_expires_at else "-",
         age(a.last_synced_at) if a.last_synced_at else "never")
        for a in accounts
    ]  # fmt: skip
    table(None, ["ID", "ORG", "PLATFORM", "HANDLE", "STATUS", "EXPIRES", "SYNCED"], rows)
    reauth = sum(1 for a in accounts if a.status.value == "NEEDS_REAUTH")
    if reauth:
        info(f"{reauth} account(s) need re-authentication: `jobctl accounts reauth-needed` says what to do")


@app.command("show", no_args_is_help=True)
def show(account_id: AccountId, as_json: JsonOption = False) -> None:
    """One account (tokens: only whether they are set)."""
    account = _api().get(account_id)
    if as_json:
        print_json(account.to_json())
        return
    _show(account)


@app.command("reauth-needed")
def reauth_needed(
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation's accounts.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Accounts the platform stopped accepting (NEEDS_REAUTH), and what to do about each."""
    accounts = _api().reauth_needed(org)
    if as_json:
        print_json([a.to_json() for a in accounts])
        return
    if not accounts:
        info("no account needs re-authentication")
        return
    rows = [
        (a.id, a.organization_id, a.platform, a.handle,
         a.updated_at.isoformat(timespec="minutes") if a.updated_at else "-", a.last_error or "-")
        for a in accounts
    ]  # fmt: skip
    table(None, ["ID", "ORG", "PLATFORM", "HANDLE", "SINCE", "LAST ERROR"], rows)
    info(
        "for each: reconnect the account on the platform (a new OAuth grant), then "
        "`jobctl accounts reconnect ACCOUNT --token-file FILE [--refresh-token-file FILE]`"
    )


@app.command("disable", no_args_is_help=True)
def disable(account_id: AccountId, as_json: JsonOption = False) -> None:
    """Stop every job from using an account (its tokens are kept; `reconnect` turns it back on)."""
    account = _api().disable(account_id)
    if as_json:
        print_json(account.to_json())
        return
    info(f"disabled account {account.id} ({account.platform} {account.handle})")


@app.command("reconnect", no_args_is_help=True)
def reconnect(
    account_id: AccountId,
    token_file: TokenFile = None,
    refresh_file: RefreshFile = None,
    token_stdin: TokenStdin = False,
    token_env: TokenEnv = ACCESS_ENV,
    refresh_env: RefreshEnv = REFRESH_ENV,
    expires: Expires = None,
    scopes: Scopes = None,
    as_json: JsonOption = False,
) -> None:
    """Give an account new tokens (after NEEDS_REAUTH or disable): it is CONNECTED again."""
    expires_at = _expires(expires)
    api = _api()
    api.require_key()
    api.get(account_id)  # an unknown id is reported before any token is asked for
    token, refresh = _tokens(_sources(token_file, refresh_file, token_stdin, token_env, refresh_env))
    account = api.reconnect(account_id, token, refresh, expires_at, scopes)
    if as_json:
        print_json(account.to_json())
        return
    info(f"reconnected account {account.id} ({account.platform} {account.handle}): {account.status.value}")


@app.command("remove", no_args_is_help=True)
def remove(account_id: AccountId, as_json: JsonOption = False) -> None:
    """Remove an account and its tokens (its published content items stay)."""
    _api().remove(account_id)
    if as_json:
        print_json({"removed": account_id})
        return
    info(f"removed account {account_id}")


@app.command("new-key")
def new_key() -> None:
    """Print a new random token encryption key (for JOBCTL_TOKEN_KEYS; keep it secret)."""
    from jobctl.api.accounts import new_token_key

    sys.stdout.write(new_token_key() + "\n")
    info(
        "set JOBCTL_TOKEN_KEYS to it on every host that runs jobctl (to rotate: put it first, "
        "before the current key, then run `jobctl accounts rotate-key`)"
    )


def _report(report: ReencryptReport, what: str, as_json: bool) -> None:
    from jobctl.api.accounts import TokenKeyError

    done = f"{what} the tokens of {report.rewritten} of {report.checked} account(s)"
    if as_json:
        print_json({"checked": report.checked, "rewritten": report.rewritten,
                    "unreadable": report.unreadable})  # fmt: skip
    if report.unreadable:  # one line: what was done, and what was left
        shown = ", ".join(report.unreadable[:5]) + (" ..." if len(report.unreadable) > 5 else "")
        raise TokenKeyError(
            f"{done}; {len(report.unreadable)} account(s) have tokens no key in JOBCTL_TOKEN_KEYS "
            f"opens, left as they were: {shown} (add the key they were encrypted with, or reconnect them)"
        )
    if not as_json:
        info(done)


@app.command("encrypt-existing")
def encrypt_existing(as_json: JsonOption = False) -> None:
    """Encrypt the tokens still stored in plaintext (rows from before migration 0009)."""
    _report(_api().encrypt_existing(), "encrypted", as_json)


@app.command("rotate-key")
def rotate_key(as_json: JsonOption = False) -> None:
    """Re-encrypt every token with the first key of JOBCTL_TOKEN_KEYS; then drop the old keys."""
    _report(_api().rotate_key(), "re-encrypted", as_json)
