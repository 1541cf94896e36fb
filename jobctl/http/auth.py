"""Bearer tokens and the per-organisation rate limit, as one FastAPI dependency (`caller`).

- No `Authorization: Bearer ...`, an unknown token or a revoked one: 401, the same answer for
  each (a client learns nothing about which tokens exist).
- Then the organisation's fixed-window counter in Redis (INCR + EXPIRE in one round trip);
  past the limit: 429 with the limit, the window and Retry-After.
- The token's id (never the secret) is put on the request for the access log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from jobctl.domain.tokens import TokenRecord
from jobctl.http.errors import HttpProblem

bearer = HTTPBearer(auto_error=False, description="An API token from `jobctl tokens create`.")

_UNAUTHORIZED = HttpProblem(
    401,
    "missing, unknown or revoked API token: send `Authorization: Bearer <token>` "
    "(see `jobctl tokens create`)",
    {"WWW-Authenticate": "Bearer"},
)


@dataclass(frozen=True)
class Caller:
    token: TokenRecord

    @property
    def admin(self) -> bool:
        return self.token.admin

    @property
    def organization_id(self) -> str | None:
        """The organisation this caller is confined to (None: an admin token, every one)."""
        return None if self.token.admin else self.token.organization_id

    def sees(self, organization_id: str | None) -> bool:
        return self.admin or (organization_id is not None and organization_id == self.token.organization_id)

    @property
    def rate_key(self) -> str:
        return self.token.organization_id or f"admin:{self.token.id}"


def caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise _UNAUTHORIZED
    state = request.app.state
    with state.api.backends.errors():
        token = state.tokens.authenticate(credentials.credentials.strip())
    if token is None:
        raise _UNAUTHORIZED
    request.state.token_id = token.id
    who = Caller(token)
    _rate_limit(request, who)
    return who


def _rate_limit(request: Request, who: Caller) -> None:
    config = request.app.state.http_config
    if config.rate_limit <= 0:
        return
    window = config.rate_window_s
    now = time.time()
    slot = int(now // window)
    key = f"jobctl:api:rate:{who.rate_key}:{slot}"
    api = request.app.state.api
    with api.backends.errors():
        pipe = api.backends.redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, window + 1)
        count = int(pipe.execute()[0])
    if count > config.rate_limit:
        retry_after = max(1, int((slot + 1) * window - now + 0.999))
        whose = f"organization {who.token.organization_id!r}" if who.token.organization_id else "this token"
        raise HttpProblem(
            429,
            f"rate limit reached: {whose} may make {config.rate_limit} requests per {window} s; "
            f"retry in {retry_after} s",
            {"Retry-After": str(retry_after)},
        )


CallerDep = Annotated[Caller, Depends(caller)]
