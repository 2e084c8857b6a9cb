"""Token-shaped values are secrets whatever their setting is called; ordinary values are not."""

from __future__ import annotations

import jwt
import pytest

from stackconfig.secrets import secret_reason

TOKENS = {
    "MY_TOKEN": jwt.encode({"sub": "x", "aud": "api://y"}, "k" * 32),
    "GITHUB_PAT": "ghp_" + "A1b2C3d4E5" * 3 + "F6g7H8",
    "DEPLOY": "glpat-" + "a1B2c3D4e5F6g7H8i9J0",
    "CLOUD": "AKIA" + "ABCDEFGHIJKLMNOP",
    "CLIENT": "abc8Q~" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q",
}
NORMAL = {
    "LOG_LEVEL": "info",
    "APP_URL": "https://orders.contoso.com/api",
    "TENANT": "6f1c1ad3-6a35-4c5b-9f4e-2d8f2a7c0b11",
    "IMAGE": "myregistry.azurecr.io/app@sha256:" + "ab" * 32,
    "RESOURCE": "/subscriptions/6f1c1ad3-6a35-4c5b-9f4e-2d8f2a7c0b11/resourceGroups/rg/providers/x/y/z",
    "GREETING": "hello, world",
    "PYTHONPATH": "/app/src:/app/lib",
}


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_a_token_is_a_secret_under_any_name(name: str) -> None:
    reason = secret_reason(name, TOKENS[name])
    assert reason is not None and TOKENS[name] not in reason


@pytest.mark.parametrize("name", sorted(NORMAL))
def test_normal_values_are_not_secrets(name: str) -> None:
    assert secret_reason(name, NORMAL[name]) is None
