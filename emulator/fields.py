"""Typed readers for JSON documents: each failure names the field path, its value and what was expected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.errors import RecordsError


def obj(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RecordsError(path, _show(value), "a JSON object")
    return value


def text(doc: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str:
    value = doc.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise RecordsError(f"{path}.{key}", _show(value), "a non-empty string")
    return value


def items(doc: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = doc.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordsError(f"{path}.{key}", _show(value), "a JSON array")
    return value


def strings(doc: Mapping[str, Any], key: str, path: str) -> list[str]:
    value = items(doc, key, path)
    if not all(isinstance(v, str) for v in value):
        raise RecordsError(f"{path}.{key}", _show(value), "an array of strings")
    return value


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."
