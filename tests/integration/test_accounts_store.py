"""Social accounts in the store, on SQLite and PostgreSQL: tokens are unreadable in the raw
columns and round-trip through the repository; MultiFernet rotation (the old key still opens,
rotate-key re-encrypts with the new); a wrong or missing key is a ConfigError naming the account,
never the token; the status helpers the refresh and analytics jobs use; plaintext rows from
before migration 0009 are counted and encrypted; 0009 maps ACTIVE/REVOKED to CONNECTED/DISABLED."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from jobctl.domain.accounts import AccountStatus, SocialAccount
from jobctl.domain.errors import ConfigError, ExitCode
from jobctl.store.account_tables import ACCOUNTS
from jobctl.store.accounts_repo import AccountRepository
from jobctl.store.token_cipher import TokenKeyError

ACCESS = "access-SECRET-0123456789abcdef"
REFRESH = "refresh-SECRET-fedcba9876543210"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def key() -> str:
    return Fernet.generate_key().decode()


def account(account_id: str = "acc_1", **kw: Any) -> SocialAccount:
    values: dict[str, Any] = {
        "id": account_id, "organization_id": "acme", "platform": "twitter", "handle": "@acme",
        "external_id": "2244994945", "status": AccountStatus.CONNECTED, "access_token": ACCESS,
        "refresh_token": REFRESH, "token_expires_at": NOW + timedelta(hours=2),
        "scopes": ("tweet.read", "offline.access"),
    }  # fmt: skip
    return SocialAccount(**{**values, **kw})


def raw(engine: Any, account_id: str = "acc_1") -> tuple[str, str | None]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT access_token, refresh_token FROM social_accounts WHERE id = :id"), {"id": account_id}
        ).one()
    return row[0], row[1]


def test_raw_columns_hold_no_plaintext_and_the_repository_round_trips(engine: Any) -> None:
    repo = AccountRepository(engine, (key(),))
    added = repo.add_account(account(), NOW)
    assert (added.access_token, added.refresh_token) == (ACCESS, REFRESH)
    access, refresh = raw(engine)
    for stored, plain in ((access, ACCESS), (refresh, REFRESH)):
        assert stored is not None and stored.startswith("fernet:gAAAAA")  # Fernet version byte 0x80
        assert plain not in stored and "SECRET" not in stored
    got = repo.get_account("acc_1")
    assert got is not None and (got.access_token, got.refresh_token) == (ACCESS, REFRESH)
    assert got.scopes == ("tweet.read", "offline.access") and got.status == AccountStatus.CONNECTED
    assert repo.get("acc_1") == got
    info = repo.get_info("acc_1")
    assert info is not None and info.tokens_encrypted and info.has_refresh_token
    assert "SECRET" not in repr(got) + repr(info) + str(info.to_json()) + str(got.to_json())


def test_rotation_old_key_still_opens_and_rotate_reencrypts_with_the_new(engine: Any) -> None:
    old, new = key(), key()
    AccountRepository(engine, (old,)).add_account(account(), NOW)
    before = raw(engine)
    both = AccountRepository(engine, (new, old))
    got = both.get_account("acc_1")
    assert got is not None and got.access_token == ACCESS  # the old key still decrypts
    report = both.reencrypt(only_plaintext=False)
    assert (report.checked, report.rewritten, report.unreadable) == (1, 1, [])
    after = raw(engine)
    assert after != before and all(v and v.startswith("fernet:") for v in after)
    only_new = AccountRepository(engine, (new,)).get_account("acc_1")
    assert only_new is not None and (only_new.access_token, only_new.refresh_token) == (ACCESS, REFRESH)
    with pytest.raises(TokenKeyError):  # the old key alone no longer opens the rotated rows
        AccountRepository(engine, (old,)).get_account("acc_1")


def test_a_wrong_or_missing_key_is_a_config_error_naming_the_account_not_the_token(engine: Any) -> None:
    AccountRepository(engine, (key(),)).add_account(account(), NOW)
    wrong = AccountRepository(engine, (key(),))
    with pytest.raises(ConfigError) as exc:
        wrong.get_account("acc_1")
    message = exc.value.message
    assert exc.value.exit_code == ExitCode.CONFIG and "acc_1" in message and "\n" not in message
    assert "SECRET" not in message and raw(engine)[0] not in message
    with pytest.raises(ConfigError):
        wrong.list_accounts()
    report = wrong.reencrypt(only_plaintext=False)  # left alone, and listed
    assert (report.rewritten, report.unreadable) == (0, ["acc_1"])
    assert wrong.token_report().unreadable == ["acc_1"]
    keyless = AccountRepository(engine)
    with pytest.raises(ConfigError, match="jobctl accounts new-key"):
        keyless.get_account("acc_1")
    with pytest.raises(ConfigError, match="no token can be stored"):
        keyless.add_account(account("acc_2"), NOW)
    # Showing accounts needs no key (nor the right one).
    assert [a.id for a in keyless.list_info()] == ["acc_1"] and wrong.get_info("acc_1") is not None


def test_status_helpers_for_the_refresh_and_analytics_jobs(engine: Any) -> None:
    repo = AccountRepository(engine, (key(),))
    repo.add_account(account("acc_1"), NOW)
    repo.add_account(account("acc_2", platform="linkedin", external_id="urn:li:organization:1"), NOW)
    later = NOW + timedelta(minutes=5)
    assert repo.mark_needs_reauth("acc_1", f"HTTP 401: invalid token=abc{ACCESS}", later)
    stuck = repo.get_info("acc_1")
    assert stuck is not None and stuck.status == AccountStatus.NEEDS_REAUTH and stuck.updated_at == later
    assert stuck.last_error is not None and ACCESS not in stuck.last_error and "HTTP 401" in stuck.last_error
    assert [a.id for a in repo.list_accounts(status=AccountStatus.NEEDS_REAUTH)] == ["acc_1"]
    assert [a.id for a in repo.list_accounts("acme", "linkedin", AccountStatus.CONNECTED)] == ["acc_2"]
    assert repo.list_accounts("globex") == []

    expires = later + timedelta(hours=1)
    assert repo.replace_tokens("acc_1", "access-2", None, expires, later)  # refresh token kept
    fresh = repo.get_account("acc_1")
    assert fresh is not None and fresh.status == AccountStatus.CONNECTED and fresh.last_error is None
    assert (fresh.access_token, fresh.refresh_token, fresh.token_expires_at) == ("access-2", REFRESH, expires)
    assert "access-2" not in raw(engine, "acc_1")[0]
    assert repo.replace_tokens("acc_1", "access-3", "refresh-3", None, later, scopes=["a", "b,a"])
    rotated = repo.get_account("acc_1")
    assert rotated is not None and (rotated.refresh_token, rotated.scopes) == ("refresh-3", ("a", "b"))

    assert repo.mark_synced("acc_2", later)
    synced = repo.get_info("acc_2")
    assert synced is not None and synced.last_synced_at == later and synced.status == AccountStatus.CONNECTED

    assert repo.disable("acc_2", later)
    assert not repo.mark_needs_reauth("acc_2", "401", later)  # DISABLED stays DISABLED
    assert repo.replace_tokens("acc_2", "access-9", None, None, later)
    disabled = repo.get_account("acc_2")
    assert disabled is not None and disabled.status == AccountStatus.DISABLED
    assert disabled.access_token == "access-9"
    for missing in (repo.disable, repo.mark_synced):
        assert not missing("acc_nope", later)
    assert not repo.mark_needs_reauth("acc_nope", "x", later)
    assert not repo.replace_tokens("acc_nope", "a", None, None, later)


def test_plaintext_rows_from_before_0009_are_counted_and_encrypted(engine: Any) -> None:
    k = key()
    repo = AccountRepository(engine, (k,))
    repo.add_account(account("acc_enc"), NOW)
    with engine.begin() as conn:  # what 0007 wrote: tokens as given
        conn.execute(
            ACCOUNTS.insert().values(
                id="acc_old", organization_id="acme", platform="threads", handle="acme",
                external_id="25025320", access_token=ACCESS, refresh_token=None, status="CONNECTED",
                created_at=NOW, updated_at=NOW,
            )
        )  # fmt: skip
    report = repo.token_report()
    assert (report.accounts, report.plaintext, report.unreadable) == (2, ["acc_old"], [])
    info = repo.get_info("acc_old")
    assert info is not None and not info.tokens_encrypted
    old = repo.get_account("acc_old")
    assert old is not None and old.access_token == ACCESS  # still readable meanwhile
    enc_before = raw(engine, "acc_enc")
    done = repo.reencrypt(only_plaintext=True)
    assert (done.checked, done.rewritten) == (2, 1)
    assert raw(engine, "acc_enc") == enc_before  # already encrypted: untouched
    access, refresh = raw(engine, "acc_old")
    assert access.startswith("fernet:") and ACCESS not in access and refresh is None
    assert repo.token_report().plaintext == []
    again = repo.get_account("acc_old")
    assert again is not None and again.access_token == ACCESS
    assert repo.reencrypt(only_plaintext=True).rewritten == 0  # safe to run again


def test_migration_0009_maps_the_old_statuses(db_url: str) -> None:
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from jobctl.store.engine import MIGRATIONS_DIR, create_store_engine

    eng = create_store_engine(db_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        # This migration and the one before it, found by name: numbers are re-chained at merges.
        (this,) = [
            r for r in ScriptDirectory.from_config(config).walk_revisions()
            if r.revision.endswith("_token_encryption")
        ]  # fmt: skip
        before = this.down_revision
        assert isinstance(before, str)
        with eng.connect() as conn, conn.begin():
            config.attributes["connection"] = conn
            command.upgrade(config, before)
            for account_id, status in (("a1", "ACTIVE"), ("a2", "REVOKED"), ("a3", "NEEDS_REAUTH")):
                conn.execute(
                    text(
                        "INSERT INTO social_accounts (id, organization_id, platform, handle, external_id, "
                        "access_token, status, created_at, updated_at) VALUES (:id, 'acme', 'twitter', "
                        "'@a', '1', 'tok', :s, :now, :now)"
                    ),
                    {"id": account_id, "s": status, "now": NOW.replace(tzinfo=None)},
                )
            command.upgrade(config, "head")
            rows = dict(conn.execute(text("SELECT id, status FROM social_accounts")).all())
            assert rows == {"a1": "CONNECTED", "a2": "DISABLED", "a3": "NEEDS_REAUTH"}
            command.downgrade(config, before)
            rows = dict(conn.execute(text("SELECT id, status FROM social_accounts")).all())
            assert rows == {"a1": "ACTIVE", "a2": "REVOKED", "a3": "NEEDS_REAUTH"}
    finally:
        eng.dispose()


def test_doctor_checks_keys_plaintext_unreadable_and_needs_reauth(engine: Any, tmp_path: Any) -> None:
    from jobctl.api.doctor_accounts import account_checks
    from jobctl.settings import load_settings

    def checks(keys: str = "") -> dict[str, Any]:
        env = {"HOME": str(tmp_path), "JOBCTL_DATA_DIR": str(tmp_path), "JOBCTL_TOKEN_KEYS": keys}
        return {c.name: c for c in account_checks(load_settings(env=env), engine, None)}

    empty = checks()
    assert empty["tokens"].status == "ok" and "no token encryption key set yet" in empty["tokens"].finding
    assert empty["accounts"].status == "ok"
    k = key()
    AccountRepository(engine, (k,)).add_account(account(), NOW)
    assert checks(k)["tokens"].status == "ok"
    keyless = checks()["tokens"]
    assert keyless.status == "warn" and "1 social account(s) but no token encryption key" in keyless.finding
    wrong = checks(key())["tokens"]
    assert wrong.status == "fail" and "acc_1" in wrong.finding and "SECRET" not in str(wrong.to_json())
    with engine.begin() as conn:
        conn.execute(ACCOUNTS.update().values(access_token=ACCESS))  # as written before 0009
    plain = checks(k)["tokens"]
    assert (
        plain.status == "warn" and "plaintext" in plain.finding and "encrypt-existing" in (plain.hint or "")
    )
    assert ACCESS not in str(plain.to_json())
    AccountRepository(engine, (k,)).mark_needs_reauth("acc_1", "HTTP 401 from X", NOW)
    stuck = checks(k)["accounts"]
    assert stuck.status == "warn" and "acc_1" in stuck.finding and "HTTP 401 from X" in stuck.finding
    assert "jobctl accounts reconnect" in (stuck.hint or "")
    assert stuck.details["needs_reauth"][0]["action"].startswith("reconnect it on the platform")
