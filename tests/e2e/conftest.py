"""Shared fixtures for the end-to-end tests: one Azurite for the session, one emulator per stack."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from certless_ops.azurite import Azurite, AzuriteMissing, locate_azurite


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_azurite() -> None:
    """Skip on a developer's machine, fail in CI, with the one-line fix when Node.js/Azurite is missing."""
    try:
        locate_azurite()
    except AzuriteMissing as exc:
        if _in_ci():
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    require_azurite()
    with Azurite() as running:
        yield running
