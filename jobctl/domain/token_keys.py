"""The keys that encrypt social-account tokens at rest: how they are given and checked.

Keys come from the settings only (`JOBCTL_TOKEN_KEYS`, or `[accounts] token_keys` in the config
file), never from the database: a stolen database dump holds ciphertext without its key.
Several keys may be given, newest first: the first encrypts, every one decrypts (MultiFernet),
so a key is rotated by putting the new one in front, running `jobctl accounts rotate-key`, and
then dropping the old one.

This module is stdlib only (the settings load it on every command); the cipher itself is
jobctl.store.token_cipher (the `cryptography` library's Fernet; no crypto by hand).
"""

from __future__ import annotations

import base64
import binascii

TOKEN_KEYS_ENV = "JOBCTL_TOKEN_KEYS"
ENCRYPTED_PREFIX = "fernet:"
"""Stored tokens are `fernet:<Fernet token>`; a value without it is a plaintext row from before
migration 0009 (`jobctl accounts encrypt-existing` encrypts those)."""

NEW_KEY_HINT = (
    f"make one with `jobctl accounts new-key` and set {TOKEN_KEYS_ENV} to it (or [accounts] "
    "token_keys in the config file), on every host that runs jobctl"
)


def check_key(value: str) -> bool:
    """True if `value` is a Fernet key: 32 bytes, url-safe base64 (what Fernet.generate_key makes)."""
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False
    return len(raw) == 32


def parse_token_keys(value: object) -> tuple[str, ...]:
    """Keys from a comma-separated string or a list of strings, newest first; duplicates dropped.

    Raises ValueError with a message that numbers the bad key but never quotes it."""
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    elif isinstance(value, list):
        items = list(value)
    else:
        raise ValueError("expected a comma-separated string or an array of Fernet keys")
    keys: list[str] = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, str):
            raise ValueError(f"key {i} is not a string")
        key = item.strip()
        if not key:
            continue
        if not check_key(key):
            raise ValueError(
                f"key {i} of {len(items)} is not a Fernet key (32 url-safe base64-encoded bytes, "
                "44 characters); make one with `jobctl accounts new-key`"
            )
        if key not in keys:
            keys.append(key)
    if not keys:
        raise ValueError("no key given (an empty list)")
    return tuple(keys)


def is_encrypted(stored: str | None) -> bool:
    return stored is not None and stored.startswith(ENCRYPTED_PREFIX)
