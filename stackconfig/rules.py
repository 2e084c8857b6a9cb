"""Value rules for stack configuration: each check returns the value or raises ConfigError naming the key."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from stackconfig.errors import ConfigError
from stackconfig.secrets import KEY_VAULT_ADVICE, secret_reason

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
LOCATION = re.compile(r"^[a-z][a-z0-9]{2,39}$")
RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
COLOR = re.compile(r"^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$")
KEY = re.compile(r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
IDENTITY_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]+/providers/"
    r"Microsoft\.ManagedIdentity/userAssignedIdentities/[A-Za-z0-9][A-Za-z0-9_-]{2,127}$",
    re.IGNORECASE,
)
ENVIRONMENT_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]+/providers/"
    r"Microsoft\.App/managedEnvironments/[A-Za-z0-9-]{2,60}$",
    re.IGNORECASE,
)
STACK_NAME = re.compile(r"^([A-Za-z0-9_.-]+/){0,2}[A-Za-z0-9_.-]+$")

# Azure physical name rules (what ARM accepts), as (pattern, description).
NAME_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "identity": (re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$"), "3-128 letters, digits, '-' or '_'"),
    "webapp": (
        re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,58}[A-Za-z0-9])$"),
        "2-60 letters, digits or '-', not starting or ending with '-'",
    ),
    "plan": (re.compile(r"^[A-Za-z0-9-]{1,60}$"), "1-60 letters, digits or '-'"),
    "containerapp": (
        re.compile(r"^(?!.*--)[a-z][a-z0-9-]{0,30}[a-z0-9]$"),
        "2-32 lowercase letters, digits or '-', starting with a letter, ending with a letter or digit,"
        " no '--'",
    ),
    "environment": (
        re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,58}[A-Za-z0-9]$"),
        "2-60 letters, digits or '-', starting with a letter, ending with a letter or digit",
    ),
    "cluster": (
        re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$"),
        "1-63 letters, digits, '-' or '_', starting and ending with a letter or digit",
    ),
}


def where(key: str, *path: str) -> str:
    # A user-typed name is capped too: an unknown 1 MB field name must not fill the error.
    return ".".join(
        (key, *(p if len(p) <= SHOWN_LIMIT else p[: SHOWN_LIMIT - 1] + "…" for p in map(str, path)))
    )


SHOWN_LIMIT = 80
MAX_DEPTH = 32
"""Deeper structured values are refused before decoding: real stack config nests 5 levels at most."""


def shown(value: Any) -> str:
    """The value as the error shows it: repr, capped at about 80 characters so a 1 MB value stays one line."""
    if not (isinstance(value, str | int | float | bool) or value is None):
        try:
            value = json.dumps(value, default=str)
        except (ValueError, RecursionError):
            value = f"<{type(value).__name__}>"
    text = repr(value)
    if len(text) > SHOWN_LIMIT:
        text = f"{text[: SHOWN_LIMIT - 1]}… ({len(str(value))} characters)"
    return text


def fail(key: str, value: Any, expected: str) -> ConfigError:
    return ConfigError.at(key[:200], f"got {shown(value)}, expected {expected}")


def _json_depth_ok(text: str) -> bool:
    """Bracket depth outside strings, so json.loads never meets a nesting it would recurse into too far."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise fail(key, value, "a non-empty string without surrounding spaces")
    return value


def match(key: str, value: Any, pattern: re.Pattern[str], expected: str) -> str:
    text = value if isinstance(value, str) else None
    if text is None or not pattern.fullmatch(text):
        raise fail(key, value, expected)
    return text


def guid(key: str, value: Any) -> str:
    # Lower-case: Entra compares FIC subjects case-sensitively and emits object IDs in lower case.
    return match(key, value, GUID, "a GUID like 00000000-0000-0000-0000-000000000000").lower()


def physical_name(key: str, value: Any, kind: str) -> str:
    pattern, description = NAME_RULES[kind]
    return match(key, value, pattern, f"a valid Azure {kind} name: {description}")


def https_url(key: str, value: Any) -> str:
    text = string(key, value)
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment or " " in text:
        raise fail(key, value, "an https URL with a host and no query or fragment")
    return text


def boolean(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise fail(key, value, "true or false")


def integer(key: str, value: Any, low: int, high: int) -> int:
    # ASCII only: "²".isdigit() is true but int("²") fails, and "٣" is no port a user meant.
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise fail(key, value, f"an integer from {low} to {high}")
    return value


def one_of(key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise fail(key, value, "one of " + ", ".join(choices))
    return str(value)


def structured(key: str, value: Any, kind: type) -> Any:
    """Structured config arrives as JSON text from the engine, or already decoded from tests and mocks."""
    if isinstance(value, str):
        if not _json_depth_ok(value):
            raise fail(key, value, f"a structured value nested at most {MAX_DEPTH} levels")
        try:
            value = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            raise fail(key, value, f"a structured {'object' if kind is dict else 'list'}") from None
    if not isinstance(value, kind):
        raise fail(key, value, f"an {'object' if kind is dict else 'list'}")
    return value


def fields(key: str, value: Any, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    obj: dict[str, Any] = structured(key, value, dict)
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise ConfigError.at(
            where(key, unknown[0]), f"unknown field; expected one of: {', '.join(sorted(allowed))}"
        )
    for name in required:
        if obj.get(name) is None:
            raise ConfigError.at(where(key, name), "missing required field")
    return obj


def string_map(key: str, value: Any, reserved_prefix: str | None = None) -> dict[str, str]:
    obj: dict[str, Any] = structured(key, value, dict)
    out: dict[str, str] = {}
    for name, item in obj.items():
        if not ENV_NAME.fullmatch(name):
            raise fail(where(key, name), name, "a setting name of letters, digits, '_', '.' or '-'")
        if reserved_prefix and name.lower().startswith(reserved_prefix.lower()):
            raise fail(where(key, name), name, f"a name outside {reserved_prefix}* (certless sets those)")
        if not isinstance(item, str):
            raise fail(where(key, name), item, "a string value")
        reason = secret_reason(name, item)
        if reason:
            # The value is never shown: it is the secret.
            raise ConfigError.at(
                where(key, name),
                f"{reason}; a certificateless app needs no secret in its settings. {KEY_VAULT_ADVICE}",
            )
        out[name] = item
    return out


def keyed(key: str, value: Any) -> Mapping[str, Any]:
    obj: dict[str, Any] = structured(key, value, dict)
    if not obj:
        raise fail(key, value, "at least one entry")
    for name in obj:
        match(where(key, name), name, KEY, "an entry name of 2-24 lowercase letters, digits or '-'")
    return obj


SKU = re.compile(r"^[A-Za-z][A-Za-z0-9]{1,9}$")
IMAGE = re.compile(
    r"^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9._-]+)*(:[A-Za-z0-9._-]{1,128})?(@sha256:[a-f0-9]{64})?$"
)
