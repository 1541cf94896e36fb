"""Just enough Redis for a one-shot read, without importing redis-py.

Why: `jobctl jobs show` reads a job's progress and last log lines (two commands) next to its
row, and importing redis-py and connecting through it cost the command ~0.4 s of its ~1 s on
this machine (measured), where the two replies take a millisecond. Like jobctl.store.reader
for SQL, this client is for read-only commands only, and it declines (`open_light` returns
None) rather than guess when a URL carries an option it does not know: the caller then uses
the full client. It speaks RESP2 over TCP, TLS (`rediss://`, verified) or a unix socket,
with AUTH and SELECT from the URL as redis-py reads them.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from jobctl.domain.errors import RedisUnavailableError
from jobctl.domain.redaction import mask_url, redact

# Shorter than the full client's 5 s: what is read here is extra to a row already in hand.
TIMEOUT_S = 2.0
_KNOWN_QUERY = frozenset({"db", "password"})


class LightRedis:
    """One connection; `execute` sends its commands in one write and reads each reply."""

    def __init__(self, sock: socket.socket, url: str) -> None:
        self._sock = sock
        self._url = url
        self._buf = b""

    def __enter__(self) -> LightRedis:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def execute(self, *commands: Sequence[str | int]) -> list[Any]:
        """Replies in order: bytes, int, None, or lists of them. A server error raises."""
        payload = b"".join(_encode(c) for c in commands)
        try:
            self._sock.sendall(payload)
            return [self._reply() for _ in commands]
        except OSError as exc:
            raise self._unavailable(str(exc)) from None

    def _unavailable(self, problem: str) -> RedisUnavailableError:
        password = urlsplit(self._url).password
        return RedisUnavailableError(
            f"cannot reach Redis at {mask_url(self._url)}: {redact(problem, (password,) if password else ())}"
        )

    def _fill(self) -> None:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise OSError("connection closed by the server")
        self._buf += chunk

    def _line(self) -> bytes:
        while (end := self._buf.find(b"\r\n")) < 0:
            self._fill()
        line, self._buf = self._buf[:end], self._buf[end + 2 :]
        return line

    def _exact(self, n: int) -> bytes:
        while len(self._buf) < n + 2:
            self._fill()
        data, self._buf = self._buf[:n], self._buf[n + 2 :]
        return data

    def _reply(self) -> Any:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b":":
            return int(rest)
        if kind == b"$":
            return None if int(rest) < 0 else self._exact(int(rest))
        if kind == b"*":
            return None if int(rest) < 0 else [self._reply() for _ in range(int(rest))]
        if kind == b"-":
            raise self._unavailable(rest.decode("utf-8", "replace"))
        raise self._unavailable(f"unexpected reply {line[:20]!r}")


def _encode(command: Sequence[str | int]) -> bytes:
    parts = [str(a).encode() for a in command]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


def open_light(url: str, *, timeout: float = TIMEOUT_S) -> LightRedis | None:
    """A connected, authenticated client on the URL's database; None for URL forms it leaves to
    redis-py. Raises RedisUnavailableError (URL masked) when the server cannot be reached."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if set(query) - _KNOWN_QUERY or parts.scheme not in ("redis", "rediss", "unix"):
        return None
    db_text = (
        query["db"][0] if "db" in query else ("0" if parts.scheme == "unix" else parts.path.strip("/") or "0")
    )
    if not db_text.isdigit():
        return None
    password = (
        query["password"][0] if "password" in query else (unquote(parts.password) if parts.password else None)
    )
    try:
        sock = _connect(parts.scheme, parts, timeout)
    except OSError as exc:
        raise RedisUnavailableError(f"cannot reach Redis at {mask_url(url)}: {redact(str(exc))}") from None
    client = LightRedis(sock, url)
    setup: list[list[str | int]] = []
    if password:
        setup.append(["AUTH", unquote(parts.username), password] if parts.username else ["AUTH", password])
    if db_text != "0":
        setup.append(["SELECT", db_text])
    try:
        if setup:
            client.execute(*setup)
    except RedisUnavailableError:
        client.close()
        raise
    return client


def _connect(scheme: str, parts: Any, timeout: float) -> socket.socket:
    if scheme == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(unquote(parts.path))
        except OSError:
            sock.close()
            raise
        return sock
    host = parts.hostname or "localhost"
    sock = socket.create_connection((host, parts.port or 6379), timeout=timeout)
    if scheme == "rediss":
        import ssl

        return ssl.create_default_context().wrap_socket(sock, server_hostname=host)
    return sock
