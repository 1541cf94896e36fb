"""The doctor's checks of the social accounts: the keys of their tokens, and re-authentication.

- `tokens`: whether JOBCTL_TOKEN_KEYS is set (without it no account can be added and no job can
  read a token: a warn when accounts exist, ok with a note when none do), which accounts still
  hold plaintext tokens from before migration 0009 (warn: `jobctl accounts encrypt-existing`),
  and which hold tokens none of the configured keys opens (fail: every job using them fails).
  Every stored token is test-decrypted (~8 µs each); none is shown.
- `accounts`: the accounts in NEEDS_REAUTH (a platform refused their token), each a warn that
  names the first few and says what the operator must do.
"""

from __future__ import annotations

from typing import Any

from jobctl.api.doctor import FAIL, OK, WARN, Check, guarded, not_checked
from jobctl.domain.accounts import AccountStatus, reauth_hint
from jobctl.domain.redaction import redact
from jobctl.domain.token_keys import TOKEN_KEYS_ENV
from jobctl.settings import Settings

LISTED = 5  # accounts named in the details
SHOWN = 3  # of which in the one-line finding
ERROR_SHOWN = 80


def account_checks(settings: Settings, engine: Any, db_problem: str | None) -> list[Check]:
    """`tokens` and `accounts` (both need the database at the current schema: `engine`)."""
    if db_problem:
        return [not_checked("tokens", db_problem), not_checked("accounts", db_problem)]
    checks = guarded("tokens", lambda: tokens_check(settings, engine))
    checks += guarded("accounts", lambda: accounts_check(engine))
    return checks


def _ids(ids: list[str]) -> str:
    return ", ".join(ids[:SHOWN]) + (f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")


def tokens_check(settings: Settings, engine: Any) -> Check:
    keys = len(settings.token_keys)
    details: dict[str, Any] = {"token_keys": "set" if keys else None, "token_key_count": keys}
    if engine is None:
        report = None
    else:
        from jobctl.store.accounts_repo import AccountRepository

        report = AccountRepository(engine, settings.token_keys).token_report()
        details.update(accounts=report.accounts, plaintext=report.plaintext[:LISTED],
                       unreadable=report.unreadable[:LISTED])  # fmt: skip
    accounts = report.accounts if report else 0
    if not keys:
        if not accounts:
            return Check("tokens", OK, f"no social accounts; no token encryption key set yet "
                         f"({TOKEN_KEYS_ENV}: needed before the first `jobctl accounts add`)", None,
                         details)  # fmt: skip
        return Check(
            "tokens", WARN,
            f"{accounts} social account(s) but no token encryption key ({TOKEN_KEYS_ENV}): jobs that "
            "use them fail, and no account can be added or reconnected",
            f"set {TOKEN_KEYS_ENV} (or [accounts] token_keys) to the key their tokens were encrypted "
            "with", details,
        )  # fmt: skip
    if report is None or not accounts:
        finding = f"{keys} token encryption key(s) set; no social accounts yet"
        return Check("tokens", OK, finding, None, details)
    if report.unreadable:
        n = len(report.unreadable)
        return Check(
            "tokens", FAIL,
            f"{n} of {accounts} account(s) hold tokens none of the {keys} key(s) in {TOKEN_KEYS_ENV} "
            f"opens: {_ids(report.unreadable)}; every job using them fails",
            "put the key they were encrypted with back in the list (after the new one), or "
            "`jobctl accounts reconnect` each with new tokens", details,
        )  # fmt: skip
    if report.plaintext:
        return Check(
            "tokens", WARN,
            f"{len(report.plaintext)} of {accounts} account(s) still store tokens in plaintext (written "
            f"before migration 0009): {_ids(report.plaintext)}",
            "run `jobctl accounts encrypt-existing`", details,
        )  # fmt: skip
    return Check("tokens", OK, f"the tokens of all {accounts} account(s) are encrypted and open with the "
                 f"{keys} configured key(s)", None, details)  # fmt: skip


def accounts_check(engine: Any) -> Check:
    if engine is None:
        return Check("accounts", OK, "no social accounts (the embedded database is not created yet)")
    from jobctl.store.accounts_repo import AccountRepository

    repo = AccountRepository(engine)  # metadata only: no key needed
    stuck = repo.list_info(status=AccountStatus.NEEDS_REAUTH)
    total = repo.list_info()
    tally = {s.value: sum(1 for a in total if a.status == s) for s in AccountStatus}
    details: dict[str, Any] = {"by_status": tally}
    if not stuck:
        if not total:
            return Check("accounts", OK, "no social accounts", None, details)
        counts = ", ".join(f"{n} {s.lower()}" for s, n in tally.items())
        return Check("accounts", OK, f"no account needs re-authentication ({counts})", None, details)
    details["needs_reauth"] = [
        {"id": a.id, "organization_id": a.organization_id, "platform": a.platform, "handle": a.handle,
         "since": a.updated_at.isoformat() if a.updated_at else None,
         "last_error": redact(a.last_error) if a.last_error else None, "action": reauth_hint(a.id)}
        for a in stuck[:LISTED]
    ]  # fmt: skip
    named = "; ".join(_one(a) for a in details["needs_reauth"][:SHOWN])
    more = f"; and {len(stuck) - SHOWN} more" if len(stuck) > SHOWN else ""
    return Check(
        "accounts", WARN,
        f"{len(stuck)} social account(s) NEEDS_REAUTH, so their publishing and syncs fail: {named}{more}",
        "reconnect each on the platform, then `jobctl accounts reconnect ACCOUNT --token-file FILE` "
        "(`jobctl accounts reauth-needed` lists them all)",
        details,
    )  # fmt: skip


def _one(account: dict[str, Any]) -> str:
    error = " ".join(str(account["last_error"] or "no error recorded").split())
    if len(error) > ERROR_SHOWN:
        error = error[: ERROR_SHOWN - 1] + "…"
    where = f"{account['organization_id']}, {account['platform']} {account['handle']}"
    return f"{account['id']} ({where}): {error}"
