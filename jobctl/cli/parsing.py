"""Parse what operators type: key=value payload fields, --payload JSON|@file, durations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jobctl.domain.errors import InvalidInputError


def parse_payload(fields: list[str], payload: str | None) -> dict[str, Any]:
    """`--payload` (JSON text or @file) then `key=value` (a string) / `key:=json` overrides."""
    base: dict[str, Any] = {}
    if payload:
        text = payload
        if payload.startswith("@"):
            path = Path(payload[1:])
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise InvalidInputError(f"cannot read payload file {path}: {exc.strerror}") from None
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"--payload is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        if not isinstance(loaded, dict):
            raise InvalidInputError("--payload must be a JSON object")
        base.update(loaded)
    for item in fields:
        key, value = _split_field(item)
        base[key] = value
    return base


def _split_field(item: str) -> tuple[str, Any]:
    if ":=" in item and item.index(":=") + 1 == item.index("="):  # the first '=' belongs to ':='
        key, raw = item.split(":=", 1)
        try:
            return _key(key, item), json.loads(raw)
        except json.JSONDecodeError:
            raise InvalidInputError(f"{item!r}: the value after := must be JSON") from None
    if "=" not in item:
        raise InvalidInputError(f"{item!r} is not key=value (use key=value, or key:=<json>)")
    key, value = item.split("=", 1)
    return _key(key, item), value


def _key(key: str, item: str) -> str:
    key = key.strip()
    if not key.isidentifier():
        raise InvalidInputError(f"{item!r}: {key!r} is not a field name")
    return key
