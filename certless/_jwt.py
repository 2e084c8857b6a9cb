"""Reading a JWT's claims for diagnostics and expiry, never its signature, never logging its value."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any


class NotAJwtError(ValueError):
    pass


def claims(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, unverified (Entra verifies it; we only read iss/sub/aud/exp)."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise NotAJwtError(f"not a JWT (expected 3 dot-separated parts, got {len(parts)})")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        decoded = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError) as exc:
        raise NotAJwtError(f"not a JWT (payload is not base64url JSON: {exc.__class__.__name__})") from None
    if not isinstance(decoded, dict):
        raise NotAJwtError("not a JWT (payload is not a JSON object)")
    return decoded


def fingerprint(value: str) -> str:
    """A short, non-reversible tag to tell tokens apart in logs."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:10]


def summary(token: str) -> dict[str, Any]:
    """The claims worth showing a person: who issued it, for whom, to whom, until when."""
    c = claims(token)
    keys = (
        "iss",
        "sub",
        "aud",
        "appid",
        "azp",
        "oid",
        "tid",
        "roles",
        "scp",
        "iat",
        "nbf",
        "exp",
        "xms_mirid",
    )
    return {k: c[k] for k in keys if k in c}
