"""The token encryption keys in the settings: from JOBCTL_TOKEN_KEYS (comma-separated, newest
first) or `[accounts] token_keys`; a bad key is a ConfigError that numbers it and never quotes
it; describe() and repr() never show a key; the cipher's stored form and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from jobctl.domain.errors import ConfigError, ExitCode
from jobctl.domain.token_keys import check_key, is_encrypted, parse_token_keys
from jobctl.settings import load_settings, setting_sources
from jobctl.store.token_cipher import TokenCipher, TokenKeyError, new_key


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(tmp_path), "JOBCTL_DATA_DIR": str(tmp_path / "data"), **extra}


def test_keys_from_the_environment_newest_first_never_shown(tmp_path: Path) -> None:
    k1, k2 = new_key(), new_key()
    s = load_settings(env=_env(tmp_path, JOBCTL_TOKEN_KEYS=f" {k2}, {k1},{k2}"))
    assert s.token_keys == (k2, k1)  # stripped, duplicates dropped, order kept
    assert s.describe()["accounts"] == {"token_keys": "set", "token_key_count": 2}
    assert k1 not in repr(s) and k1 not in str(s.describe())
    assert setting_sources(s, _env(tmp_path, JOBCTL_TOKEN_KEYS=k1))["accounts.token_keys"].startswith(
        "environment (JOBCTL_TOKEN_KEYS)"
    )
    none = load_settings(env=_env(tmp_path))
    assert none.token_keys == () and none.describe()["accounts"]["token_keys"] is None


def test_keys_from_the_config_file_and_the_environment_wins(tmp_path: Path) -> None:
    k1, k2 = new_key(), new_key()
    config = tmp_path / "jobctl.toml"
    config.write_text(f'[accounts]\ntoken_keys = ["{k1}", "{k2}"]\n')
    assert load_settings(config, env=_env(tmp_path)).token_keys == (k1, k2)
    assert load_settings(config, env=_env(tmp_path, JOBCTL_TOKEN_KEYS=k2)).token_keys == (k2,)


@pytest.mark.parametrize(
    "value", ["not-a-key", "c2hvcnQ=", "short,", Fernet.generate_key().decode()[:-4] + "!!!!"]
)
def test_a_bad_key_is_a_config_error_that_never_quotes_it(tmp_path: Path, value: str) -> None:
    good = new_key()
    with pytest.raises(ConfigError) as exc:
        load_settings(env=_env(tmp_path, JOBCTL_TOKEN_KEYS=f"{good},{value}"))
    message = exc.value.message
    assert exc.value.exit_code == ExitCode.CONFIG and "JOBCTL_TOKEN_KEYS" in message
    assert "key 2" in message and "jobctl accounts new-key" in message
    assert value not in message and good not in message


def test_parse_and_check() -> None:
    assert check_key(new_key()) and not check_key("x" * 44) and not check_key("é")
    with pytest.raises(ValueError, match="no key"):
        parse_token_keys(" , ")
    with pytest.raises(ValueError, match="key 1 is not a string"):
        parse_token_keys([1])
    assert is_encrypted("fernet:gAAAA") and not is_encrypted("plain") and not is_encrypted(None)


def test_cipher_stored_form_and_errors() -> None:
    old, new = new_key(), new_key()
    stored = TokenCipher([old]).encrypt("tok-SECRET")
    assert stored.startswith("fernet:") and "tok-SECRET" not in stored
    both = TokenCipher([new, old])
    assert both.decrypt(stored, "acc_1") == "tok-SECRET" and both.opens(stored)
    rotated = both.rotate(stored, "acc_1")
    assert TokenCipher([new]).decrypt(rotated, "acc_1") == "tok-SECRET"
    assert both.rotate("legacy-plain", "acc_1").startswith("fernet:")
    with pytest.raises(TokenKeyError) as exc:
        TokenCipher([new]).decrypt(stored, "acc_9")
    assert "acc_9" in exc.value.message and stored not in exc.value.message
    assert exc.value.exit_code == ExitCode.CONFIG
    with pytest.raises(TokenKeyError, match="jobctl accounts new-key"):
        TokenCipher().encrypt("x")
    assert not TokenCipher().opens("plain") and not TokenCipher([new]).opens(stored)
