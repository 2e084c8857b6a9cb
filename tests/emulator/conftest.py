"""Fixtures for the emulator's tests: the fixture plan, a running emulator, a clean client environment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from emu_helpers import PLAN

from emulator import Emulator, Records

# Variables that change which backend MSAL / azure-identity pick; each test sets only what it needs.
_CLIENT_ENV = (
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_AUTHORITY_HOST",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
)


@pytest.fixture(scope="session")
def plan_doc() -> dict[str, Any]:
    return json.loads(PLAN.read_text())


@pytest.fixture
def records() -> Records:
    return Records.from_plan(PLAN)


@pytest.fixture
def emu(records: Records, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    for name in _CLIENT_ENV:
        monkeypatch.delenv(name, raising=False)
    with Emulator(records) as running:
        # requests (under MSAL and azure-core) trusts the emulator's CA through this variable only.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", running.ca_bundle_path)
        yield running
        assert running.internal_errors == []


@pytest.fixture
def tenant(records: Records) -> str:
    return records.tenants[0]
