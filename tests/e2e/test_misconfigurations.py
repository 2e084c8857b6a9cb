"""The ways users break certificateless auth, end to end: each app fails with certless's one clear error
naming the cause, never a traceback or a token.

Broken deployments are built the way users break them: a copy of the plan JSON with the FIC edited (what
`pulumi up` of a wrong stack config would deploy), app settings edited, a second identity attached, a
pod without the workload-identity label, a token file nobody rotates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from certless_ops.azurite import Azurite
from certless_ops.demo import chain
from emulator import Emulator

from .support import JWT, Chain, Plan, emulator_for, set_app_fic

pytestmark = pytest.mark.e2e

WEB = "batch-web"  # e2e stack: App Service, app "batch", identity "batch"
POD = "ingest-direct"  # e2e stack: AKS direct mode
WEBHOOK_VARS = ("AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_AUTHORITY_HOST")


def _failing_run(
    plan: Plan,
    emu: Emulator,
    azurite: Azurite,
    workload: str,
    host: str,
    env_edit: Callable[[dict[str, str]], object] | None = None,
) -> str:
    env = Chain(plan, emu, azurite).env(workload, host)
    if env_edit is not None:
        env_edit(env)
    run = chain.run_app(env)
    assert run.returncode == 1, f"the app should fail; it printed {run.result}"
    assert "Traceback" not in run.stderr
    assert not JWT.search(run.stderr), "a token leaked into the error"
    return run.error


def _fic_case(plans: dict[str, Plan], azurite: Azurite, **fields: Any) -> tuple[str, dict[str, Any]]:
    plan = plans["e2e"]
    broken = plan.broken(set_app_fic(WEB, **fields))
    with emulator_for(broken) as emu:
        return _failing_run(plan, emu, azurite, WEB, "appservice"), plan.workload(WEB)


def test_fic_subject_set_to_the_identity_client_id(plans: dict[str, Plan], azurite: Azurite) -> None:
    w = plans["e2e"].workload(WEB)
    error, _ = _fic_case(plans, azurite, subject=w["identityClientId"])
    assert "AADSTS70021" in error and "No matching federated identity record" in error
    # It names the app and what was presented: the principal ID, which the FIC must hold.
    assert w["appClientId"] in error
    assert f"Assertion Subject: '{w['identityPrincipalId']}'" in error
    assert "principal (object) ID, not its client ID" in error


def test_fic_issuer_with_a_trailing_slash(plans: dict[str, Plan], azurite: Azurite) -> None:
    w = plans["e2e"].workload(WEB)
    issuer = w["federatedCredentials"][0]["issuer"]
    error, _ = _fic_case(plans, azurite, issuer=issuer + "/")
    assert "AADSTS70021" in error
    assert f"Assertion Issuer: '{issuer}'" in error
    assert "trailing '/'" in error


def test_fic_with_the_wrong_audience(plans: dict[str, Plan], azurite: Azurite) -> None:
    # A FIC copied from a US Government sample into a public-cloud tenant.
    error, _ = _fic_case(plans, azurite, audiences=["api://AzureADTokenExchangeUSGov"])
    assert "AADSTS70021" in error
    assert "audience must be api://AzureADTokenExchange" in error


def test_two_identities_attached_and_no_managed_identity_client_id(
    plans: dict[str, Plan], azurite: Azurite
) -> None:
    plan = plans["e2e"]
    other = plan.workload("audit-api")["identityClientId"]
    with emulator_for(plan.doc) as emu:
        emu.attach_identity(WEB, other)  # the VM now carries the batch and the audit identities
        error = _failing_run(
            plan,
            emu,
            azurite,
            WEB,
            "vm",
            lambda env: env.pop("AzureAd__ClientCredentials__0__ManagedIdentityClientId"),
        )
    assert "Multiple user assigned identities exist" in error
    assert "set ManagedIdentityClientId" in error


def test_app_settings_pointing_at_another_apps_client_id(plans: dict[str, Plan], azurite: Azurite) -> None:
    plan = plans["e2e"]
    other_app = plan.workload(POD)["appClientId"]

    def edit(env: dict[str, str]) -> None:
        env["AzureAd__ClientId"] = other_app

    with emulator_for(plan.doc) as emu:
        error = _failing_run(plan, emu, azurite, WEB, "appservice", edit)
    assert "AADSTS70021" in error
    assert f"app registration {other_app}" in error


def test_pod_without_the_workload_identity_label(plans: dict[str, Plan], azurite: Azurite) -> None:
    plan = plans["e2e"]

    def unlabelled(env: dict[str, str]) -> None:
        # Without azure.workload.identity/use: "true" the webhook injects nothing and mounts no token.
        for name in WEBHOOK_VARS:
            env.pop(name)

    with emulator_for(plan.doc) as emu:
        error = _failing_run(plan, emu, azurite, POD, "aks-direct", unlabelled)
    assert "no token file" in error and "AZURE_FEDERATED_TOKEN_FILE" in error
    assert "workload identity" in error


def test_token_file_not_rotated_past_its_expiry(plans: dict[str, Plan], azurite: Azurite) -> None:
    plan = plans["e2e"]
    aks = plan.workload(POD)["aks"]

    with emulator_for(plan.doc) as emu:

        def stale_token(env: dict[str, str]) -> None:
            # Kubelet stopped rotating: the file holds a token that expired an hour ago.
            emu.clock_skew(-7200)
            projector = emu.project_service_account_token(
                aks["clusterName"],
                aks["namespace"],
                aks["serviceAccount"],
                env["AZURE_FEDERATED_TOKEN_FILE"],
                lifetime=3600,
            )
            projector.stop()
            emu.clock_skew(0)

        error = _failing_run(plan, emu, azurite, POD, "aks-direct", stale_token)
    assert "expired" in error and aks["serviceAccount"] in error
    assert "rotates the projected token" in error
