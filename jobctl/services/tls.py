"""One TLS context for every outgoing HTTP client of the services (context fetches, platform
clients, token requests, the content endpoints).

Building a context loads the CA bundle: 25-45 ms of CPU holding the GIL, measured, which is what
every new `httpx.Client()` pays when it is given none. Contexts are thread-safe to share, so it
is built once per process, on first use.
"""

from __future__ import annotations

import ssl
import threading

import httpx

_lock = threading.Lock()
_shared: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """httpx's default context (certifi's CA bundle, no SSL_CERT_* from the environment)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = httpx.create_ssl_context(trust_env=False)
        return _shared
