"""Construct through the component package's provider, under the mock engine, as another language calls it."""

from __future__ import annotations

from typing import Any

import pytest
from component_fakes import install, run
from pulumi.errors import InputPropertyError

from certless_package.schema import provider

TENANT = "0f0e0d0c-0b0a-4909-8807-060504030201"
WORKLOAD = "certless:index:CertificatelessWorkload"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
APP = "azuread:index/application:Application"
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"

# The inputs as the engine sends them: schema (camelCase) names, enums as their values.
INPUTS: dict[str, Any] = {
    "kind": "appservice",
    "tenantId": TENANT,
    "cloud": "AzureUSGovernment",
    "app": {"displayName": "shop-app"},
    "identity": {"resourceGroupName": "rg", "identityName": "id-shop"},
    "appService": {"resourceGroupName": "rg", "planName": "plan-shop", "appName": "shop-web"},
    "identityTrustName": "uami-shop",
}


def test_construct_registers_the_chain_under_the_component_and_returns_its_outputs() -> None:
    rec, _ = install()

    def program() -> dict[str, Any]:
        result = provider().construct("shop", WORKLOAD, INPUTS, None)
        return {"urn": result.urn, **result.state}

    out = run(program)
    component = rec.one(WORKLOAD)
    assert out["urn"] == component.urn
    for child in (
        "certless:identity:ManagedIdentity",
        "certless:entra:AppRegistration",
        "certless:compute:AppServiceBinding",
    ):
        assert rec.one(child).parent == component.urn, child
    uami = rec.one(UAMI).outputs
    fic = rec.one(APP_FIC).inputs
    assert fic["subject"] == uami["principalId"]
    assert fic["issuer"] == f"https://login.microsoftonline.us/{TENANT}/v2.0"
    assert fic["audiences"] == ["api://AzureADTokenExchangeUSGov"]
    # The outputs come back under the schema's names.
    assert out["appClientId"] == rec.one(APP).outputs["clientId"]
    assert out["identityClientId"] == uami["clientId"]
    assert out["identityPrincipalId"] == uami["principalId"]
    assert out["identityType"] == "UserAssigned"
    assert out["azureAdEnv"]["AzureAd__ClientId"] == out["appClientId"]
    assert out["azureAdEnv"]["AzureAd__Instance"] == "https://login.microsoftonline.us/"
    assert '"ClientId": "' + out["appClientId"] in out["appsettingsJson"]


def test_access_grant_constructs_role_assignments_for_the_principal() -> None:
    rec, _ = install()
    scope = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg"
    inputs = {
        "principalObjectId": "9e3c1f0a-0000-4000-8000-000000000001",
        "roles": [{"roleGuid": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "scope": scope, "roleName": "Reader"}],
    }

    def program() -> dict[str, Any]:
        result = provider().construct("reader", "certless:index:AccessGrant", inputs, None)
        return {"urn": result.urn, **result.state}

    out = run(program)
    grant = rec.one("certless:index:AccessGrant")
    assignment = rec.one("azure-native:authorization:RoleAssignment")
    assert assignment.parent == grant.urn == out["urn"]
    assert assignment.inputs["principalType"] == "ServicePrincipal"
    (record,) = out["grants"]
    assert (record["scope"], record["role"], record["grantee"]) == (scope, "Reader", "app")


def test_a_missing_required_input_is_named_before_anything_is_registered() -> None:
    rec, _ = install()
    inputs = {k: v for k, v in INPUTS.items() if k != "tenantId"}
    with pytest.raises(InputPropertyError, match="tenantId"):
        run(lambda: {"urn": provider().construct("shop", WORKLOAD, inputs, None).urn})
    assert rec.registrations == []


def test_an_unknown_kind_is_refused_naming_the_value() -> None:
    install()
    with pytest.raises(InputPropertyError, match="webjob"):
        run(lambda: {"urn": provider().construct("shop", WORKLOAD, {**INPUTS, "kind": "webjob"}, None).urn})


def test_construct_with_app_service_authentication_uses_the_fic_override() -> None:
    rec, _ = install()
    inputs = {
        **INPUTS,
        "appService": {
            **INPUTS["appService"],
            "authentication": {"unauthenticatedClientAction": "Return401", "excludedPaths": ["/health"]},
        },
    }
    run(lambda: dict(provider().construct("shop", WORKLOAD, inputs, None).state))
    auth = rec.one("azure-native:web:WebAppAuthSettingsV2WithoutSecrets").inputs
    aad = auth["identityProviders"]["azureActiveDirectory"]
    assert aad["registration"]["clientSecretSettingName"] == "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID"
    assert aad["registration"]["clientId"] == rec.one(APP).outputs["clientId"]
    assert aad["registration"]["openIdIssuer"] == f"https://login.microsoftonline.us/{TENANT}/v2.0"
    assert auth["globalValidation"]["unauthenticatedClientAction"] == "Return401"
    assert auth["globalValidation"]["excludedPaths"] == ["/health"]
    site = rec.one("azure-native:web:WebApp").inputs
    settings = {s["name"]: s["value"] for s in site["siteConfig"]["appSettings"]}
    assert settings["OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID"] == rec.one(UAMI).outputs["clientId"]
