"""Fixtures for the offline plan tests (helpers live in support.py)."""

from __future__ import annotations

from typing import Any

import pytest

from .support import MINI, plan_of


@pytest.fixture(scope="session")
def mini_plan() -> dict[str, Any]:
    return plan_of(MINI, "test")
