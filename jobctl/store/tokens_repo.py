"""TokenRepository: create, list, revoke and look up the HTTP API's tokens (digests only).

`find` is the per-request lookup: one equality query on the unique `token_hash` index.
Every method turns database outages into DatabaseUnavailableError (masked URL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine, Row

from jobctl.domain.errors import DatabaseUnavailableError
from jobctl.domain.tokens import TokenRecord
from jobctl.store.db_errors import database_errors, describe_db_error
from jobctl.store.engine import autocommit, engine_label
from jobctl.store.record_rows import utc
from jobctl.store.token_tables import TOKENS

tc = TOKENS.c
_COLUMNS = (tc.id, tc.organization_id, tc.name, tc.admin, tc.created_at, tc.revoked_at)


def _record(row: Row[*tuple[Any, ...]]) -> TokenRecord:
    m = row._mapping
    return TokenRecord(
        id=m["id"],
        organization_id=m["organization_id"],
        name=m["name"],
        admin=bool(m["admin"]),
        created_at=utc(m["created_at"]),
        revoked_at=utc(m["revoked_at"]) if m["revoked_at"] is not None else None,
    )


class TokenRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._auto = autocommit(engine)
        self._label = engine_label(engine)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except database_errors() as exc:
            raise DatabaseUnavailableError(describe_db_error(self._label, exc)) from exc

    def add(self, record: TokenRecord, digest: str) -> None:
        with self._errors(), self.engine.begin() as conn:
            conn.execute(
                TOKENS.insert().values(
                    id=record.id,
                    organization_id=record.organization_id,
                    name=record.name,
                    token_hash=digest,
                    admin=record.admin,
                    created_at=record.created_at,
                    revoked_at=None,
                )
            )

    def find(self, digest: str) -> TokenRecord | None:
        """The token with this digest, revoked or not (the caller decides)."""
        with self._errors(), self._auto.connect() as conn:
            row = conn.execute(select(*_COLUMNS).where(tc.token_hash == digest)).first()
        return _record(row) if row is not None else None

    def get(self, token_id: str) -> TokenRecord | None:
        with self._errors(), self._auto.connect() as conn:
            row = conn.execute(select(*_COLUMNS).where(tc.id == token_id)).first()
        return _record(row) if row is not None else None

    def list(self, organization_id: str | None = None) -> list[TokenRecord]:
        query = select(*_COLUMNS).order_by(tc.created_at.desc(), tc.id.desc())
        if organization_id is not None:
            query = query.where(tc.organization_id == organization_id)
        with self._errors(), self._auto.connect() as conn:
            return [_record(r) for r in conn.execute(query)]

    def revoke(self, token_id: str, now: datetime) -> bool:
        """Revoke an active token; False when it is unknown or already revoked."""
        with self._errors(), self.engine.begin() as conn:
            done = conn.execute(
                update(TOKENS).where(tc.id == token_id, tc.revoked_at.is_(None)).values(revoked_at=now)
            )
        return bool(done.rowcount)
