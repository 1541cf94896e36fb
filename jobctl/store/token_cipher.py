"""TokenCipher: social-account tokens encrypted at rest with the `cryptography` library's
MultiFernet (AES-128-CBC + HMAC-SHA256, with a timestamp; nothing written by hand here).

- The first key encrypts, every key decrypts: rotation is "new key first, `jobctl accounts
  rotate-key` (MultiFernet.rotate on every row), drop the old key".
- Stored form: `fernet:<token>` (jobctl.domain.token_keys.ENCRYPTED_PREFIX). A value without the
  prefix is a plaintext row from before migration 0009: it still reads (with a key configured),
  `jobctl doctor` counts it, and `jobctl accounts encrypt-existing` encrypts it.
- No key configured: encrypting or reading any token is a ConfigError that says how to make one.
- A token no configured key opens: a ConfigError naming the account (never the token).
Cost, measured on the dev machine: ~7 µs to encrypt and ~8 µs to decrypt a 200-byte token, so
every account read decrypts eagerly.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from jobctl.domain.errors import ConfigError
from jobctl.domain.token_keys import ENCRYPTED_PREFIX, NEW_KEY_HINT, TOKEN_KEYS_ENV


class TokenKeyError(ConfigError):
    """No token key configured, or none of them opens a stored token (exit 12, CONFIG)."""

    title = "token encryption key"


def new_key() -> str:
    """A fresh Fernet key (32 random bytes from os.urandom, url-safe base64)."""
    return Fernet.generate_key().decode("ascii")


class TokenCipher:
    """Encrypts and decrypts tokens with the configured keys (newest first)."""

    def __init__(self, keys: Sequence[str] = ()) -> None:
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys]) if keys else None
        self.key_count = len(keys)

    @property
    def configured(self) -> bool:
        return self._fernet is not None

    def _require(self, why: str, hint: str = NEW_KEY_HINT) -> MultiFernet:
        if self._fernet is None:
            raise TokenKeyError(f"no token encryption key is configured, so {why}: {hint}")
        return self._fernet

    def encrypt(self, token: str) -> str:
        fernet = self._require("no token can be stored")
        return ENCRYPTED_PREFIX + fernet.encrypt(token.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str, account_id: str) -> str:
        fernet = self._require(
            f"the tokens of account {account_id} cannot be read",
            f"set {TOKEN_KEYS_ENV} (or [accounts] token_keys) on this host to the key(s) they were "
            "encrypted with (a first key for a new deployment: `jobctl accounts new-key`)",
        )
        if not stored.startswith(ENCRYPTED_PREFIX):
            return stored  # a plaintext row from before 0009 (doctor counts them)
        try:
            return fernet.decrypt(stored[len(ENCRYPTED_PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise TokenKeyError(self._wrong_key(account_id)) from None

    def opens(self, stored: str) -> bool:
        """True if a configured key decrypts `stored` (plaintext counts as readable)."""
        if not stored.startswith(ENCRYPTED_PREFIX) or self._fernet is None:
            return self._fernet is not None
        try:
            self._fernet.decrypt(stored[len(ENCRYPTED_PREFIX) :].encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def rotate(self, stored: str, account_id: str) -> str:
        """`stored` encrypted with the first key: plaintext is encrypted, ciphertext re-encrypted
        (MultiFernet.rotate keeps the original timestamp)."""
        fernet = self._require("tokens cannot be re-encrypted")
        if not stored.startswith(ENCRYPTED_PREFIX):
            return self.encrypt(stored)
        try:
            body = fernet.rotate(stored[len(ENCRYPTED_PREFIX) :].encode("ascii"))
        except InvalidToken:
            raise TokenKeyError(self._wrong_key(account_id)) from None
        return ENCRYPTED_PREFIX + body.decode("ascii")

    def _wrong_key(self, account_id: str) -> str:
        return (
            f"the tokens of account {account_id} do not decrypt with any of the {self.key_count} "
            f"key(s) in {TOKEN_KEYS_ENV}: the key they were encrypted with is missing (put it back "
            "in the list, after the new one) or the row was altered; `jobctl doctor` lists every "
            "such account"
        )
