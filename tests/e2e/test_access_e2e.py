"""Downstream access end to end: the blob round trip works only because the plan grants the app a role.

The app (a separate process, certless in it) gets its Storage token from the emulator as its app's
service principal; the RBAC check in front of Azurite (certless_ops.storage_rbac) evaluates the token's
``oid`` against the plan's role assignments, as Azure does, and answers a missing grant with Storage's
403 ``AuthorizationPermissionMismatch``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from certless_ops.azurite import ACCOUNT, Azurite
from certless_ops.demo import chain
from certless_ops.storage_rbac import StorageRbac, assignments_from_plan, fetch_jwks

from .support import Chain

pytestmark = pytest.mark.e2e

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
SP = "azuread:index/servicePrincipal:ServicePrincipal"
WORKLOAD = "orders-api"
SUB = "419df9c8-ff27-5745-89e3-6e4306ca62c9"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-certless-prod"
# The storage account prod's config grants blob access on; Azurite stands in for it.
PROD_ACCOUNT = f"{RG}/providers/Microsoft.Storage/storageAccounts/stcertlessordersprod"


@contextmanager
def rbac_for(doc: dict[str, Any], c: Chain, azurite: Azurite) -> Iterator[StorageRbac]:
    tenant = doc["outputs"]["tenantId"]
    keys = fetch_jwks(f"{c.emulator.entra_url}/{tenant}/discovery/keys", c.emulator.ca_bundle_path)
    with StorageRbac(
        assignments_from_plan(doc),
        account_id=PROD_ACCOUNT,
        upstream_host="127.0.0.1",
        upstream_port=azurite.port,
        upstream_ca=str(azurite.ca_pem),
        cert_pem=azurite.tls.cert_pem,
        key_pem=azurite.tls.key_pem,
        keys=keys,
    ) as proxy:
        yield proxy


def run_through(c: Chain, proxy: StorageRbac, azurite: Azurite) -> chain.AppRun:
    w = c.plan.workload(WORKLOAD)
    env = chain.app_env(
        w["azureAdEnv"],
        c.emulator.host_env("containerapp", WORKLOAD),
        account_url=proxy.account_url(ACCOUNT),
        storage_ca=azurite.ca_pem,
        label=f"{WORKLOAD}-rbac",
    )
    return chain.run_app(env)


def grants(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in doc["resources"] if r["type"] == ROLE_ASSIGNMENT and "-access-" in r["name"]]


def set_grant(**values: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        for grant in grants(doc):
            grant["inputs"].update(values)
            grant["outputs"].update(values)

    return edit


def test_the_grant_on_the_apps_service_principal_lets_the_app_write_and_read(
    chains: dict[str, Chain], azurite: Azurite
) -> None:
    c = chains["prod"]
    with rbac_for(c.plan.doc, c, azurite) as proxy:
        run = run_through(c, proxy, azurite)
    assert run.ok, run.error
    sp = next(r for r in c.plan.doc["resources"] if r["type"] == SP)["outputs"]["objectId"]
    assert proxy.decisions, "every call went through the RBAC check"
    assert {d.oid for d in proxy.decisions} == {sp}, "the token's oid is the app's service principal"
    assert all(d.allowed for d in proxy.decisions)
    assert {(d.role, d.scope) for d in proxy.decisions} == {("Storage Blob Data Contributor", PROD_ACCOUNT)}
    assert {
        d.permission.rsplit("/", 2)[-2] + "/" + d.permission.rsplit("/", 1)[-1] for d in proxy.decisions
    } >= {
        "containers/write",
        "blobs/write",
        "blobs/read",
    }


@pytest.mark.parametrize("scope", [RG, f"/subscriptions/{SUB}"], ids=["resource-group", "subscription"])
def test_a_grant_on_a_parent_scope_is_inherited(
    chains: dict[str, Chain], azurite: Azurite, scope: str
) -> None:
    c = chains["prod"]
    with rbac_for(c.plan.broken(set_grant(scope=scope)), c, azurite) as proxy:
        run = run_through(c, proxy, azurite)
    assert run.ok, run.error


def _no_grant(doc: dict[str, Any]) -> None:
    doc["resources"] = [r for r in doc["resources"] if r not in grants(doc)]


def _on_identity(doc: dict[str, Any]) -> None:
    identity = next(r for r in doc["resources"] if r["type"] == UAMI)
    set_grant(principalId=identity["outputs"]["principalId"])(doc)


NEGATIVE = [
    ("no-grant", _no_grant),
    ("grant-on-the-managed-identity", _on_identity),
    ("wrong-scope", set_grant(scope=f"{RG}/providers/Microsoft.Storage/storageAccounts/stcertlessother")),
    (
        "reader-cannot-write",
        set_grant(
            roleDefinitionId=f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
        ),
    ),
    (
        "owner-reads-no-data",
        set_grant(
            roleDefinitionId=f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
        ),
    ),
]


@pytest.mark.parametrize(("case", "edit"), NEGATIVE, ids=[n for n, _ in NEGATIVE])
def test_without_the_right_grant_storage_answers_403_authorization_permission_mismatch(
    chains: dict[str, Chain], azurite: Azurite, case: str, edit: Callable[[dict[str, Any]], None]
) -> None:
    c = chains["prod"]
    with rbac_for(c.plan.broken(edit), c, azurite) as proxy:
        run = run_through(c, proxy, azurite)
    assert run.returncode == 1
    assert "AuthorizationPermissionMismatch" in run.error
    assert "This request is not authorized to perform this operation using this permission." in run.error
    denied = [d for d in proxy.decisions if not d.allowed]
    assert denied, "the refusal came from the RBAC check, not from Azurite"
    # The token was fine: the same oid as with the grant, so only the grant differs.
    sp = next(r for r in c.plan.doc["resources"] if r["type"] == SP)["outputs"]["objectId"]
    assert denied[0].oid == sp
