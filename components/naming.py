"""Deterministic physical names and the federated identity credential (FIC) name rule."""

from __future__ import annotations

import hashlib
import re

# Entra / ARM rule for FIC names: 3-120 chars, first alphanumeric, then alphanumerics, '-' or '_'.
FIC_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$")
FIC_NAME_MAX = 120
_FIC_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def with_color(base: str, color: str | None) -> str:
    """The colour is a suffix of every physical name that must be unique between blue and green."""
    return f"{base}-{color}" if color else base


def fic_name(*parts: str) -> str:
    """Join parts into a valid FIC name; characters outside the rule become '-', long names get a hash tail.

    The result is deterministic, so the owning and referencing stacks compute the same name.
    """
    raw = "-".join(p for p in parts if p)
    name = _FIC_UNSAFE.sub("-", raw).strip("-_")
    if len(name) > FIC_NAME_MAX:
        digest = hashlib.sha256(raw.encode()).hexdigest()[:10]
        name = f"{name[: FIC_NAME_MAX - 11].rstrip('-_')}-{digest}"
    return name


def check_fic_name(name: str) -> None:
    if not FIC_NAME_RE.fullmatch(name):
        raise ValueError(
            f"federated credential name {name!r} is invalid: expected 3-120 characters, letters, digits,"
            " '-' or '_', starting with a letter or digit"
        )
