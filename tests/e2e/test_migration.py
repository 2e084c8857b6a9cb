"""The seed scenario's migration path: an app that still has its certificate lists the managed identity
first and the certificate second, so the same settings work everywhere during the move:

- on a laptop (no identity endpoint) it authenticates with the certificate,
- on an Azure host it authenticates with the identity, and the certificate is never used,
- with the certificate entry removed, it keeps working on the host.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from certless_ops.azurite import Azurite
from certless_ops.demo import chain
from emulator import CertificateCredential, Emulator, Records
from emulator.entra.certificates import pem_pair, self_signed_certificate

from .support import Chain, Plan

pytestmark = pytest.mark.e2e

WORKLOAD = "orders-web"  # dev stack, App Service
IDENTITY_VARS = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "MSI_ENDPOINT")


def _self_signed(common_name: str) -> tuple[bytes, bytes]:
    return pem_pair(*self_signed_certificate(common_name, days=1))


@pytest.fixture(scope="module")
def migrating(plans: dict[str, Plan], azurite: Azurite, e2e_workdir: Path) -> Iterator[tuple[Chain, Path]]:
    plan = plans["dev"]
    key_pem, cert_pem = _self_signed("certless-orders-legacy-cert")
    pem = e2e_workdir / "orders-legacy.pem"
    pem.touch(mode=0o600)
    pem.write_bytes(key_pem + cert_pem)
    records = Records.from_plan(plan.doc)
    app = records.app(plan.workload(WORKLOAD)["appClientId"])
    assert app is not None
    app.certificates.append(CertificateCredential.from_pem(cert_pem))  # the app registration knows the cert
    with Emulator(records) as emu:
        yield Chain(plan, emu, azurite), pem


def _with_certificate_second(env: dict[str, str], pem: Path) -> dict[str, str]:
    assert env["AzureAd__ClientCredentials__0__SourceType"] == "SignedAssertionFromManagedIdentity"
    env["AzureAd__ClientCredentials__1__SourceType"] = "Path"
    env["AzureAd__ClientCredentials__1__CertificateDiskPath"] = str(pem)
    return env


def _exchanges(c: Chain, mark: int) -> list[tuple[str, str]]:
    return [
        (e["endpoint"], e.get("credential", ""))
        for e in c.log_since(mark)
        if e["endpoint"] != "entra-discovery"
    ]


def test_on_a_laptop_the_certificate_authenticates(migrating: tuple[Chain, Path]) -> None:
    c, pem = migrating
    # A laptop: the app settings and the (emulated) Entra, but no identity endpoint variables.
    env = {k: v for k, v in _with_certificate_second(c.env(WORKLOAD), pem).items() if k not in IDENTITY_VARS}
    mark = len(c.emulator.requests)
    run = chain.run_app(env)
    assert run.ok, run.error
    assert _exchanges(c, mark) == [("entra-token", "certificate")]
    assert "failed to load and is skipped" in run.error  # certless says why it fell back


def test_on_the_host_the_identity_authenticates(migrating: tuple[Chain, Path]) -> None:
    c, pem = migrating
    w = c.plan.workload(WORKLOAD)
    mark = len(c.emulator.requests)
    run = chain.run_app(_with_certificate_second(c.env(WORKLOAD, "appservice"), pem))
    assert run.ok, run.error
    log = [(e["endpoint"], e.get("credential") or e.get("identity")) for e in c.log_since(mark)]
    assert ("appservice", w["identityClientId"]) in log
    assert _exchanges(c, mark) == [("appservice", ""), ("entra-token", "federated")]


def test_with_the_certificate_entry_removed_it_keeps_working(migrating: tuple[Chain, Path]) -> None:
    c, pem = migrating
    env = c.env(WORKLOAD, "appservice")
    assert not any(k.startswith("AzureAd__ClientCredentials__1__") for k in env)
    pem.unlink()  # the certificate is gone from the machine too
    mark = len(c.emulator.requests)
    run = chain.run_app(env)
    assert run.ok, run.error
    assert _exchanges(c, mark) == [("appservice", ""), ("entra-token", "federated")]
