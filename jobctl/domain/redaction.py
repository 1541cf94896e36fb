"""Keep secrets out of output, logs and errors: mask passwords in URLs, redact known secrets."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

# scheme://user:password@host  (password may hold anything but '@' and whitespace)
_URL_PASSWORD = re.compile(r"(?P<prefix>[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]*:)(?P<pw>[^\s@/]+)@")
# Query parameters and key=value pairs whose name says they hold a secret.
_SECRET_PARAM = re.compile(
    r"(?i)(?P<key>\b(?:password|passwd|pwd|token|access_token|refresh_token|secret|api_key|apikey)=)"
    r"(?P<val>[^\s&;,]+)"
)


def mask_url(url: str) -> str:
    """Return `url` with any password replaced by ***; other parts unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    if parts.password is None:
        return redact(url)
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{user}:{MASK}@{host}"
    return redact(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask URL passwords, secret-named parameters and each literal in `secrets`."""
    out = text
    # Each pattern needs its marker ("://", "="): most texts (job ids, log messages) have
    # neither, and skipping the two regex passes halves a worker's per-log-line cost.
    if "://" in out:
        out = _URL_PASSWORD.sub(lambda m: f"{m.group('prefix')}{MASK}@", out)
    if "=" in out:
        out = _SECRET_PARAM.sub(lambda m: f"{m.group('key')}{MASK}", out)
    for secret in secrets:
        if secret and len(secret) >= 4:
            out = out.replace(secret, MASK)
    return out
