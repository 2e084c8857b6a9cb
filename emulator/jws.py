"""Reading a compact JWS once, and checking its RSA signature with `cryptography`.

PyJWT re-parses and re-validates the token, character by character in Python, on every call
(`get_unverified_header`, `decode`, ...); on the token endpoint's hot path that cost more than the RSA
work itself. Here the token is split and decoded once and the signature goes straight to cryptography.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


@dataclass(frozen=True)
class CompactJws:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def parse(token: str) -> CompactJws:
    """Split and decode; ValueError if it is not a three-part JWS with JSON-object header and claims."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise ValueError("not a compact JWS")
    try:
        header = json.loads(_b64decode(parts[0]))
        claims = json.loads(_b64decode(parts[1]))
        signature = _b64decode(parts[2])
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("undecodable JWS segment") from None
    except RecursionError:  # JSON nested deeper than the parser's stack: hostile, not a token
        raise ValueError("JWS segment nested too deeply") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("JWS header and claims must be JSON objects")
    return CompactJws(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


def verify(jws: CompactJws, key: rsa.RSAPublicKey, algorithm: str) -> bool:
    """RS256 or PS256 signature check."""
    if algorithm == "RS256":
        pad: padding.AsymmetricPadding = padding.PKCS1v15()
    elif algorithm == "PS256":
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    else:
        return False
    try:
        key.verify(jws.signature, jws.signing_input, pad, hashes.SHA256())
    except InvalidSignature:
        return False
    return True
