"""The ways users break certificateless auth, end to end: each app fails with certless's one clear error
naming the cause, never a traceback or a token, and `python -m certless doctor` run in the same
environment shows the mismatch.

Broken deployments are built the way users break them: a copy of the plan JSON with the FIC edited (what
`pulumi up` of a wrong stack config would deploy), app settings edited, a second identity attached, a
pod without the workload-identity label, a token file nobody rotates.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Failure:
    error: str  # the app's one-line diagnosis (certless's exception message)
    doctor: str  # `python -m certless doctor` in the same environment


def _failing_run(
    plan: Plan,
    emu: Emulator,
    azurite: Azurite,
    workload: str,
    host: str,
    env_edit: Callable[[dict[str, str]], object] | None = None,
) -> Failure:
    env = Chain(plan, emu, azurite).env(workload, host)
    if env_edit is not None:
        env_edit(env)
    with ThreadPoolExecutor(max_workers=2) as pool:  # the app and the doctor side by side
        app_future = pool.submit(chain.run_app, env)
        doctor = pool.submit(chain.run_doctor, env).result()
        run = app_future.result()
    assert run.returncode == 1, f"the app should fail; it printed {run.result}"
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    for text in (run.stderr, doctor.stdout, doctor.stderr):
        assert "Traceback" not in text
        assert not JWT.search(text), "a token leaked into the output"
    return Failure(run.error, doctor.stdout)


def _required_fic(w: dict[str, Any]) -> str:
    """What the doctor says the app must trust: the presented issuer, principal ID and exchange audience."""
    issuer = next(f for f in w["federatedCredentials"] if f["on"] == "app")["issuer"]
    return (
        f"the app registration {w['appClientId']} must hold a FIC: issuer={issuer} "
        f"subject={w['identityPrincipalId']} audience=api://AzureADTokenExchange"
    )


def _fic_case(plans: dict[str, Plan], azurite: Azurite, **fields: Any) -> Failure:
    plan = plans["e2e"]
    broken = plan.broken(set_app_fic(WEB, **fields))
    with emulator_for(broken) as emu:
        failure = _failing_run(plan, emu, azurite, WEB, "appservice")
    # The doctor prints the FIC the presented assertion needs, next to Entra's refusal: the deployed
    # FIC (the broken field) differs from it.
    assert _required_fic(plan.workload(WEB)) in failure.doctor
    assert "[FAIL] token for" in failure.doctor and "AADSTS70021" in failure.doctor
    return failure


def test_fic_subject_set_to_the_identity_client_id(plans: dict[str, Plan], azurite: Azurite) -> None:
    w = plans["e2e"].workload(WEB)
    failure = _fic_case(plans, azurite, subject=w["identityClientId"])
    error = failure.error
    assert "AADSTS70021" in error and "No matching federated identity record" in error
    # It names the app and what was presented: the principal ID, which the FIC must hold.
    assert w["appClientId"] in error
    assert f"Assertion Subject: '{w['identityPrincipalId']}'" in error
    assert "principal (object) ID, not its client ID" in error
    assert f"subject={w['identityPrincipalId']}" in failure.doctor
    assert f"subject={w['identityClientId']}" not in failure.doctor


def test_fic_issuer_with_a_trailing_slash(plans: dict[str, Plan], azurite: Azurite) -> None:
    w = plans["e2e"].workload(WEB)
    issuer = w["federatedCredentials"][0]["issuer"]
    failure = _fic_case(plans, azurite, issuer=issuer + "/")
    assert "AADSTS70021" in failure.error
    assert f"Assertion Issuer: '{issuer}'" in failure.error
    assert "trailing '/'" in failure.error
    assert f"issuer={issuer} " in failure.doctor and f"issuer={issuer}/" not in failure.doctor


def test_fic_with_the_wrong_audience(plans: dict[str, Plan], azurite: Azurite) -> None:
    # A FIC copied from a US Government sample into a public-cloud tenant.
    failure = _fic_case(plans, azurite, audiences=["api://AzureADTokenExchangeUSGov"])
    assert "AADSTS70021" in failure.error
    assert "audience must be api://AzureADTokenExchange" in failure.error
    assert "audience=api://AzureADTokenExchange\n" in failure.doctor


def test_two_identities_attached_and_no_managed_identity_client_id(
    plans: dict[str, Plan], azurite: Azurite
) -> None:
    plan = plans["e2e"]
    other = plan.workload("audit-api")["identityClientId"]
    with emulator_for(plan.doc) as emu:
        emu.attach_identity(WEB, other)  # the VM now carries the batch and the audit identities
        failure = _failing_run(
            plan,
            emu,
            azurite,
            WEB,
            "vm",
            lambda env: env.pop("AzureAd__ClientCredentials__0__ManagedIdentityClientId"),
        )
    for text in (failure.error, failure.doctor):
        assert "Multiple user assigned identities exist" in text
        assert "set ManagedIdentityClientId" in text
    assert "[FAIL] no credential source could be loaded" in failure.doctor


def test_app_settings_pointing_at_another_apps_client_id(plans: dict[str, Plan], azurite: Azurite) -> None:
    plan = plans["e2e"]
    other_app = plan.workload(POD)["appClientId"]

    def edit(env: dict[str, str]) -> None:
        env["AzureAd__ClientId"] = other_app

    with emulator_for(plan.doc) as emu:
        failure = _failing_run(plan, emu, azurite, WEB, "appservice", edit)
    assert "AADSTS70021" in failure.error
    assert f"app registration {other_app}" in failure.error
    # The doctor shows which app the settings name, and that it would need to trust this identity.
    assert f"[ ok ] settings: client {other_app}," in failure.doctor
    w = plan.workload(WEB)
    assert f"the app registration {other_app} must hold a FIC" in failure.doctor
    assert f"subject={w['identityPrincipalId']}" in failure.doctor


def test_pod_without_the_workload_identity_label(plans: dict[str, Plan], azurite: Azurite) -> None:
    plan = plans["e2e"]

    def unlabelled(env: dict[str, str]) -> None:
        # Without azure.workload.identity/use: "true" the webhook injects nothing and mounts no token.
        for name in WEBHOOK_VARS:
            env.pop(name)

    with emulator_for(plan.doc) as emu:
        failure = _failing_run(plan, emu, azurite, POD, "aks-direct", unlabelled)
    for text in (failure.error, failure.doctor):
        assert "no token file" in text and "AZURE_FEDERATED_TOKEN_FILE" in text
        assert "workload identity" in text
    assert "[ ok ] host: imds" in failure.doctor  # no AKS variables: the pod looks like a plain VM


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

        failure = _failing_run(plan, emu, azurite, POD, "aks-direct", stale_token)
    for text in (failure.error, failure.doctor):
        assert "expired" in text and aks["serviceAccount"] in text
        assert "rotates the projected token" in text
