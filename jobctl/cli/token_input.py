"""Reading social-account tokens for `jobctl accounts add | reconnect`, never from argv.

Sources, first match wins, for the access token:
1. `--token-file FILE` (`-` is stdin): the file's only line;
2. `--token-stdin`: stdin's first line (on a terminal: a prompt that does not echo);
3. the environment variable named by `--token-env` (default JOBCTL_ACCOUNT_ACCESS_TOKEN).
The refresh token (optional): `--refresh-token-file FILE`, else stdin's second line with
`--token-stdin`, else the variable named by `--refresh-token-env`.
Errors name the file or variable, never its content.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from jobctl.domain.errors import InvalidInputError

MAX_TOKEN_FILE = 64 * 1024  # tokens are < 4 KiB; a bigger file is the wrong file


@dataclass(frozen=True)
class TokenSources:
    token_file: Path | None
    refresh_file: Path | None
    token_stdin: bool
    token_env: str
    refresh_env: str


def _one_line(text: str, where: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise InvalidInputError(f"{where}: no token in it")
    if len(lines) > 1:
        raise InvalidInputError(f"{where}: {len(lines)} lines; expected one token on one line")
    return lines[0]


def _read_file(path: Path, option: str) -> str:
    if str(path) == "-":
        return _one_line(sys.stdin.read(MAX_TOKEN_FILE + 1), f"{option} - (stdin)")
    try:
        with path.open("r", encoding="utf-8") as fh:
            text = fh.read(MAX_TOKEN_FILE + 1)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise InvalidInputError(f"{option} {path}: cannot read it ({reason})") from None
    if len(text) > MAX_TOKEN_FILE:
        raise InvalidInputError(f"{option} {path}: larger than {MAX_TOKEN_FILE} bytes, not a token file")
    return _one_line(text, f"{option} {path}")


def _stdin_lines() -> list[str]:
    if sys.stdin.isatty():
        import getpass

        access = getpass.getpass("access token (not echoed): ").strip()
        refresh = getpass.getpass("refresh token (empty: none): ").strip()
        return [t for t in (access, refresh) if t]
    lines = [line.strip() for line in sys.stdin.read(2 * MAX_TOKEN_FILE).splitlines() if line.strip()]
    if len(lines) > 2:
        raise InvalidInputError(
            f"--token-stdin: {len(lines)} lines; expected the access token, then optionally the refresh token"
        )
    return lines


def read_tokens(src: TokenSources) -> tuple[str, str | None]:
    """(access token, refresh token or None) from the sources above."""
    stdin: list[str] = []
    if src.token_file is not None:
        access = _read_file(src.token_file, "--token-file")
    elif src.token_stdin:
        stdin = _stdin_lines()
        if not stdin:
            raise InvalidInputError("--token-stdin: no token on the first line of stdin")
        access = stdin[0]
    else:
        access = os.environ.get(src.token_env, "").strip()
        if not access:
            raise InvalidInputError(
                f"no access token: pass --token-file FILE or --token-stdin, or set {src.token_env}; "
                "tokens are never read from the command line"
            )
    if src.refresh_file is not None:
        refresh: str | None = _read_file(src.refresh_file, "--refresh-token-file")
    elif len(stdin) > 1:
        refresh = stdin[1]
    else:
        refresh = os.environ.get(src.refresh_env, "").strip() or None
    return access, refresh
