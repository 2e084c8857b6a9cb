"""Every rule on a plan that passes and on plans that break it, evaluated through pulumi_policy's servicer.

The plans go through ``review_plan``, which builds the engine's protobuf requests (Analyze with inputs
per resource, AnalyzeStack with outputs) and hands them to pulumi_policy's analyzer servicer, so the
levels, config handling and messages are those a ``pulumi preview --policy-pack`` run would show.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from policy_plans import (
    AUDIENCE,
    DELETE,
    ENTRA_ISSUER,
    IDS,
    RG,
    SUB,
    TENANT,
    PlanBuilder,
    find,
    good_plan,
    set_prop,
)

from certless_ops.review import Review, review_plan
from certless_ops.review.pack_config import parse_pack_config
from policy.rules import ALL_POLICIES

APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"


def review(plan: dict[str, Any], config: dict[str, Any] | None = None) -> Review:
    return review_plan(plan, parse_pack_config(config or {}, ALL_POLICIES))


def only(result: Review, policy: str) -> list[tuple[str, str, str]]:
    """(enforcement, resource name, message) of the violations of one policy; asserts no other fired."""
    others = {v.policy for v in result.violations} - {policy}
    assert not others, f"unexpected violations of {others}: {result.violations}"
    return [(v.enforcement, v.resource_name, v.message) for v in result.violations]


@pytest.fixture
def plan() -> dict[str, Any]:
    return good_plan()


def test_the_reference_plan_passes_every_policy(plan: dict[str, Any]) -> None:
    result = review(plan)
    assert result.violations == []
    assert {p["name"] for p in result.policies} == {p.name for p in ALL_POLICIES}
    assert result.resources == len(plan["resources"])


# --- credentials -------------------------------------------------------------------------------


def _add_resource(plan: dict[str, Any], type_: str, name: str, inputs: dict[str, Any]) -> None:
    plan["resources"].append(
        {
            "urn": f"urn:pulumi:prod::certless::{type_}::{name}",
            "type": type_,
            "name": name,
            "custom": True,
            "parent": None,
            "inputs": inputs,
            "outputs": inputs,
            "dependencies": [],
            "property_dependencies": {},
            "protect": False,
            "read": False,
        }
    )


def test_application_password_is_mandatory_violation(plan: dict[str, Any]) -> None:
    _add_resource(
        plan,
        "azuread:index/applicationPassword:ApplicationPassword",
        "orders-secret",
        {"applicationId": "/applications/x", "displayName": "ci"},
    )
    assert only(review(plan), "certless-no-client-secrets") == [
        (
            "mandatory",
            "orders-secret",
            "'orders-secret' creates a client secret (password) on an application; the app must "
            "authenticate with its federated identity credential instead. Remove this resource.",
        )
    ]


def test_service_principal_password_and_inline_password_are_reported(plan: dict[str, Any]) -> None:
    _add_resource(plan, "azuread:index/servicePrincipalPassword:ServicePrincipalPassword", "sp-secret", {})
    set_prop(find(plan, "orders-app", "Application"), "password", {"displayName": "legacy"})
    found = only(review(plan), "certless-no-client-secrets")
    assert [(level, name) for level, name, _ in found] == [
        ("mandatory", "orders-app"),
        ("mandatory", "sp-secret"),
    ]
    assert "inline 'password' block" in found[0][2]
    assert "on a service principal" in found[1][2]


def test_certificate_is_mandatory_in_prod_and_advisory_with_the_dev_config(plan: dict[str, Any]) -> None:
    _add_resource(plan, "azuread:index/applicationCertificate:ApplicationCertificate", "orders-cert", {})
    assert only(review(plan), "certless-no-client-certificates")[0][:2] == ("mandatory", "orders-cert")
    with open("policy/config/dev.json", encoding="utf-8") as fh:
        dev = json.load(fh)
    found = only(review(plan, dev), "certless-no-client-certificates")
    assert found[0][:2] == ("advisory", "orders-cert")
    assert "advisory in dev" in found[0][2]


# --- FIC audience, subject format, issuer ---------------------------------------------------------


def test_audience_must_be_exactly_the_token_exchange_audience(plan: dict[str, Any]) -> None:
    fic = find(plan, "orders-fic")
    set_prop(fic, "audiences", [AUDIENCE, "api://other"])
    set_prop(find(plan, "billing-cluster"), "audiences", ["api://azureadtokenexchange"])
    found = {name: (level, message) for level, name, message in only(review(plan), "certless-fic-audience")}
    assert found["orders-fic"][0] == "mandatory"
    assert (
        "lists 2 audiences" in found["orders-fic"][1] and "a FIC takes exactly one" in found["orders-fic"][1]
    )
    assert "differs only in case" in found["billing-cluster"][1]


def test_audience_follows_the_configured_cloud(plan: dict[str, Any]) -> None:
    found = only(
        review(plan, {"certless-fic-audience": {"cloud": "AzureUSGovernment"}}), "certless-fic-audience"
    )
    assert len(found) == 4  # three app FICs and the cluster FIC
    assert (
        "expected 'api://AzureADTokenExchangeUSGov', the AzureUSGovernment token-exchange audience"
        in found[0][2]
    )


def test_subject_format_for_entra_and_kubernetes_issuers(plan: dict[str, Any]) -> None:
    set_prop(find(plan, "orders-fic"), "subject", "system:serviceaccount:orders:orders")
    set_prop(find(plan, "billing-cluster"), "subject", "system:serviceaccount:Billing_NS:billing")
    result = review(plan)
    format_findings = [v for v in result.violations if v.policy == "certless-fic-subject-format"]
    assert [(v.resource_name, v.enforcement) for v in format_findings] == [
        ("orders-fic", "mandatory"),
        ("billing-cluster", "mandatory"),
    ]
    assert "is not a GUID" in format_findings[0].message
    assert "names namespace 'Billing_NS', not a valid Kubernetes namespace" in format_findings[1].message


def test_subject_wildcards_and_upper_case_guids_are_rejected(plan: dict[str, Any]) -> None:
    set_prop(find(plan, "billing-cluster"), "subject", "system:serviceaccount:billing:*")
    set_prop(find(plan, "reports-fic"), "subject", IDS["reports"][0].upper())
    messages = {
        v.resource_name: v.message
        for v in review(plan).violations
        if v.policy == "certless-fic-subject-format"
    }
    assert "federated identity credentials do not support wildcards" in messages["billing-cluster"]
    assert "has upper-case letters" in messages["reports-fic"]


def test_issuer_with_trailing_slash_or_other_tenant_is_rejected(plan: dict[str, Any]) -> None:
    set_prop(find(plan, "orders-fic"), "issuer", ENTRA_ISSUER + "/")
    set_prop(find(plan, "reports-fic"), "issuer", "https://login.microsoftonline.com/common/v2.0")
    found = only(review(plan), "certless-fic-issuer-allowed")
    by_name = {name: (level, message) for level, name, message in found}
    assert by_name["orders-fic"][0] == "mandatory"
    assert "has a trailing slash" in by_name["orders-fic"][1]
    assert f"names tenant 'common'; the stack's tenant issuer is {ENTRA_ISSUER}" in by_name["reports-fic"][1]


def test_issuer_of_an_unknown_cluster_fails_unless_allowed_by_config(plan: dict[str, Any]) -> None:
    other = "https://eastus.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/abc/"
    set_prop(find(plan, "billing-cluster"), "issuer", other)
    found = only(review(plan), "certless-fic-issuer-allowed")
    assert found == [
        (
            "mandatory",
            "billing-cluster",
            f"FIC 'aks-billing' on identity 'billing-id': issuer '{other}' is neither the tenant's Entra "
            "issuer, nor the OIDC issuer of an AKS cluster declared in this stack, nor listed in this "
            "policy's allowedIssuers.",
        )
    ]
    assert review(plan, {"certless-fic-issuer-allowed": {"allowedIssuers": [other]}}).violations == []


def test_issuer_of_a_cluster_declared_as_a_managed_cluster_resource_is_allowed(plan: dict[str, Any]) -> None:
    # A stack that declares its AKS cluster (rather than reading it in a binding) proves the issuer
    # through the cluster's own output, spelled ``issuerURL`` by azure-native.
    other = "https://westeurope.oic.prod-aks.azure.com/11111111-2222-3333-4444-555555555555/cluster/"
    set_prop(find(plan, "billing-cluster"), "issuer", other)
    _add_resource(
        plan,
        "azure-native:containerservice:ManagedCluster",
        "billing-aks",
        {"resourceGroupName": RG, "oidcIssuerProfile": {"enabled": True, "issuerURL": other}},
    )
    assert [v for v in review(plan).violations if v.policy == "certless-fic-issuer-allowed"] == []


def test_issuer_tenant_defaults_to_the_identities_tenant(plan: dict[str, Any]) -> None:
    plan["config"].pop("certless:tenantId")
    assert review(plan).violations == []
    set_prop(
        find(plan, "orders-fic"),
        "issuer",
        ENTRA_ISSUER.replace(TENANT, "11111111-2222-3333-4444-555555555555"),
    )
    assert only(review(plan), "certless-fic-issuer-allowed")[0][1] == "orders-fic"


# --- who the app FIC trusts ------------------------------------------------------------------------


def test_client_id_as_subject_is_named_in_the_message(plan: dict[str, Any]) -> None:
    set_prop(find(plan, "orders-fic"), "subject", IDS["orders"][1])
    found = only(review(plan), "certless-app-fic-trusts-user-assigned-identity")
    assert found == [
        (
            "mandatory",
            "orders-fic",
            f"FIC 'mi-orders' has subject '{IDS['orders'][1]}', the CLIENT ID of identity 'orders-id'; "
            "Entra matches the token's subject, which is the identity's principal (object) ID "
            f"{IDS['orders'][0]}. Use the identity's principalId.",
        )
    ]


def test_subject_that_is_no_identity_of_the_stack_is_reported(plan: dict[str, Any]) -> None:
    stranger = "3c4d5e6f-7081-4920-a3b4-c5d6e7f80912"
    set_prop(find(plan, "reports-fic"), "subject", stranger)
    assert only(review(plan), "certless-app-fic-trusts-user-assigned-identity") == [
        (
            "mandatory",
            "reports-fic",
            f"FIC 'mi-reports' has subject '{stranger}', which is not the principal ID of any user-assigned "
            "identity declared or adopted in this stack.",
        )
    ]


def test_a_principal_exported_by_the_referenced_owner_stack_counts_as_adopted(
    plan: dict[str, Any],
) -> None:
    shared = "8b9c0d1e-2f3a-4b5c-8d6e-7f8091a2b3c4"
    set_prop(find(plan, "reports-fic"), "subject", shared)
    assert only(review(plan), "certless-app-fic-trusts-user-assigned-identity")
    ref_type = "pulumi:pulumi:StackReference"
    outputs = {
        "workloads": {"reports": {"identityPrincipalId": shared, "identityClientId": IDS["orders"][1]}}
    }
    plan["resources"].append(
        {
            "urn": f"urn:pulumi:prod::certless::{ref_type}::org/certless/shared",
            "type": ref_type,
            "name": "org/certless/shared",
            "custom": True,
            "read": True,
            "inputs": {"name": "org/certless/shared"},
            "outputs": {"name": "org/certless/shared", "outputs": outputs},
        }
    )
    assert review(plan).violations == []


def test_system_assigned_principal_gives_only_an_advisory(plan: dict[str, Any]) -> None:
    web = find(plan, "orders-web", "WebApp")
    system_principal = "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d"
    set_prop(web, "identity.type", "SystemAssigned, UserAssigned")
    set_prop(web, "identity.principalId", system_principal, where=("outputs",))
    set_prop(find(plan, "orders-fic"), "subject", system_principal)
    found = only(review(plan), "certless-app-fic-system-assigned-subject")
    assert found[0][:2] == ("advisory", "orders-fic")
    assert "system-assigned identity of 'orders-web'" in found[0][2]
    assert (
        "learn.microsoft.com/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity"
        in (found[0][2])
    )


# --- limits and ordering ------------------------------------------------------------------------


def _more_identity_fics(plan: dict[str, Any], count: int, *, chained: bool) -> None:
    base = find(plan, "billing-cluster")
    previous = base["urn"]
    for n in range(count):
        fic = copy.deepcopy(base)
        fic["name"] = f"billing-extra-{n}"
        fic["urn"] = base["urn"].replace("::billing-cluster", f"::billing-extra-{n}")
        set_prop(fic, "subject", f"system:serviceaccount:billing:extra-{n}")
        fic["dependencies"] = [*base["dependencies"], previous] if chained else list(base["dependencies"])
        plan["resources"].append(fic)
        previous = fic["urn"]


def test_more_than_twenty_fics_on_one_identity(plan: dict[str, Any]) -> None:
    _more_identity_fics(plan, 20, chained=True)
    found = only(review(plan), "certless-fic-limits")
    assert len(found) == 1
    assert found[0][2].startswith("identity 'billing-id' has 21 federated identity credentials; at most 20")


def test_limit_can_be_lowered_by_config(plan: dict[str, Any]) -> None:
    _more_identity_fics(plan, 2, chained=True)
    assert review(plan).violations == []
    found = only(review(plan, {"certless-fic-limits": {"maxPerParent": 2}}), "certless-fic-limits")
    assert "has 3 federated identity credentials; at most 2 are allowed" in found[0][2]


def test_repeated_issuer_and_subject_on_one_app(plan: dict[str, Any]) -> None:
    duplicate = copy.deepcopy(find(plan, "orders-fic"))
    duplicate["name"] = "orders-fic-again"
    duplicate["urn"] = duplicate["urn"].replace("::orders-fic", "::orders-fic-again")
    plan["resources"].append(duplicate)
    found = only(review(plan), "certless-fic-limits")
    assert found[0][1] == "orders-fic-again"
    assert "repeats the issuer and subject of 'mi-orders' (resource 'orders-fic')" in found[0][2]


def test_parallel_fics_under_one_identity_are_reported(plan: dict[str, Any]) -> None:
    _more_identity_fics(plan, 1, chained=False)
    found = only(review(plan), "certless-identity-fics-serialized")
    assert found == [
        (
            "mandatory",
            "billing-extra-0",
            "FICs 'aks-billing' (resource 'billing-cluster') and 'aks-billing' (resource"
            " 'billing-extra-0') on identity 'billing-id' can be written in "
            "parallel: Azure rejects concurrent FIC writes under one identity (409 "
            "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity). Chain them with "
            "depends_on.",
        )
    ]


def test_the_parent_identity_is_found_from_the_arm_id_alone(plan: dict[str, Any]) -> None:
    """Outputs as azure-native returns them: no resourceName, no property dependency, an ARM ID."""
    _more_identity_fics(plan, 1, chained=False)
    for name in ("billing-cluster", "billing-extra-0"):
        fic = find(plan, name)
        fic["property_dependencies"] = {}
        for key in ("resourceName", "resourceGroupName"):
            del fic["outputs"][key]
        fic["outputs"]["id"] = (
            f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/"
            f"userAssignedIdentities/id-billing/federatedIdentityCredentials/{name}"
        )
    found = only(review(plan), "certless-identity-fics-serialized")
    assert [(level, name) for level, name, _ in found] == [("mandatory", "billing-extra-0")]


def test_the_parent_identity_is_found_from_resource_name_alone(plan: dict[str, Any]) -> None:
    """A FIC whose identity is named by a literal ``resourceName`` (no property dependency, no ID yet)."""
    _more_identity_fics(plan, 1, chained=False)
    for name in ("billing-cluster", "billing-extra-0"):
        fic = find(plan, name)
        fic["property_dependencies"] = {}
        fic["outputs"].pop("id", None)
        assert fic["outputs"]["resourceName"] == "id-billing"
    found = only(review(plan), "certless-identity-fics-serialized")
    assert [(level, name) for level, name, _ in found] == [("mandatory", "billing-extra-0")]
    assert "on identity 'billing-id'" in found[0][2]


def test_chained_fics_under_one_identity_pass(plan: dict[str, Any]) -> None:
    _more_identity_fics(plan, 3, chained=True)
    assert review(plan).violations == []


# --- compute bindings ---------------------------------------------------------------------------


def test_managed_identity_client_id_must_name_an_attached_identity(plan: dict[str, Any]) -> None:
    settings = find(plan, "orders-web", "WebApp")
    set_prop(settings, "siteConfig.appSettings.4.value", IDS["reports"][1])
    found = only(review(plan), "certless-compute-names-attached-identity")
    assert found == [
        (
            "mandatory",
            "orders-web",
            "'orders-web': AzureAd__ClientCredentials__0__ManagedIdentityClientId = "
            f"'{IDS['reports'][1]}' is the client ID of identity 'reports-id', which is not attached to it.",
        )
    ]


@pytest.mark.parametrize(
    "identity_type", ["SystemAssigned, UserAssigned", "SystemAssigned,UserAssigned", "userassigned"]
)
def test_a_compute_with_both_identity_types_is_checked_for_the_attached_identity(
    plan: dict[str, Any], identity_type: str
) -> None:
    web = find(plan, "orders-web", "WebApp")
    set_prop(web, "identity.type", identity_type)
    assert review(plan).violations == []  # its own identity still passes
    set_prop(web, "siteConfig.appSettings.4.value", IDS["reports"][1])
    found = only(review(plan), "certless-compute-names-attached-identity")
    assert [(level, name) for level, name, _ in found] == [("mandatory", "orders-web")]
    assert "which is not attached to it" in found[0][2]


def _as_app_service_returns_it(web: dict[str, Any]) -> None:
    """App Service does not return app settings: the engine's outputs have none (azure-native 3.29)."""
    del web["outputs"]["siteConfig"]["appSettings"]


def test_without_app_settings_in_outputs_the_wiring_decides(plan: dict[str, Any]) -> None:
    web = find(plan, "orders-web", "WebApp")
    _as_app_service_returns_it(web)
    assert review(plan).violations == []
    web["property_dependencies"]["siteConfig"] = [find(plan, "reports-id")["urn"]]
    assert only(review(plan), "certless-compute-names-attached-identity") == [
        (
            "mandatory",
            "orders-web",
            "'orders-web': siteConfig takes a value from identity 'reports-id', which is not attached to it "
            "(its identity property does not reference that identity).",
        )
    ]


def test_principal_id_instead_of_client_id_in_container_env(plan: dict[str, Any]) -> None:
    app = find(plan, "reports-app", "ContainerApp")
    set_prop(app, "template.containers.0.env.4.value", IDS["reports"][0])
    found = only(review(plan), "certless-compute-names-attached-identity")
    assert (
        "is the PRINCIPAL ID of identity 'reports-id'; the identity endpoint expects its client ID"
        in found[0][2]
    )


def test_missing_managed_identity_client_id_with_a_user_assigned_identity(plan: dict[str, Any]) -> None:
    web = find(plan, "orders-web", "WebApp")
    for side in ("inputs", "outputs"):
        web[side]["siteConfig"]["appSettings"] = web[side]["siteConfig"]["appSettings"][:4]
    _as_app_service_returns_it(web)  # found from the inputs, which the engine always sends
    found = only(review(plan), "certless-compute-sets-identity-client-id")
    assert found == [
        (
            "mandatory",
            "orders-web",
            "'orders-web' has a user-assigned identity but AzureAd__ClientCredentials__0__"
            "ManagedIdentityClientId is not set: the identity endpoint cannot tell which identity to use. "
            "Set it to the identity's client ID.",
        )
    ]


@pytest.mark.parametrize(
    ("identity_type", "fires"),
    [
        ("SystemAssigned, UserAssigned", True),  # the system-assigned one would answer: no FIC trusts it
        ("SystemAssigned,UserAssigned", True),
        ("userassigned", True),
        ("SystemAssigned", False),  # the only identity: nothing to choose
    ],
)
def test_missing_client_id_is_flagged_whenever_a_user_assigned_identity_is_attached(
    plan: dict[str, Any], identity_type: str, fires: bool
) -> None:
    web = find(plan, "orders-web", "WebApp")
    for side in ("inputs", "outputs"):
        web[side]["siteConfig"]["appSettings"] = web[side]["siteConfig"]["appSettings"][:4]
    set_prop(web, "identity.type", identity_type)
    found = only(review(plan), "certless-compute-sets-identity-client-id")
    assert [(level, name) for level, name, _ in found] == ([("mandatory", "orders-web")] if fires else [])


def test_aks_pod_client_id_must_match_its_service_account(plan: dict[str, Any]) -> None:
    deployment = find(plan, "billing", "Deployment")
    set_prop(deployment, "spec.template.spec.containers.0.env.4.value", IDS["orders"][1])
    found = only(review(plan), "certless-compute-names-attached-identity")
    assert (
        "is the client ID of identity 'orders-id', which is not annotated on its service account"
        in found[0][2]
    )


# --- secrets in settings --------------------------------------------------------------------------


def test_secrets_in_settings_are_reported_without_their_value(plan: dict[str, Any]) -> None:
    secret_value = "s3cr3t~Value.With.Entropy"
    storage = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0a2V5;EndpointSuffix=core"
    web = find(plan, "orders-web", "WebApp")
    web["inputs"]["siteConfig"]["appSettings"].append(
        {"name": "AzureAd__ClientSecret", "value": secret_value}
    )
    web["inputs"]["siteConfig"]["appSettings"].append({"name": "STORAGE", "value": storage})
    deployment = find(plan, "billing", "Deployment")
    env = deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]["env"]
    env.append({"name": "DB_PASSWORD", "value": secret_value})
    env.append({"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "api", "key": "key"}}})
    result = review(plan)
    found = only(result, "certless-no-secrets-in-settings")
    assert [(level, name) for level, name, _ in found] == [
        ("mandatory", "orders-web"),
        ("mandatory", "orders-web"),
        ("mandatory", "billing"),
    ]
    assert "siteConfig.appSettings 'AzureAd__ClientSecret': its name says it holds a secret" in found[0][2]
    assert "'STORAGE': its value carries a key, password or signature" in found[1][2]
    assert "container 'app' env 'DB_PASSWORD'" in found[2][2]
    dumped = json.dumps(result.to_json())
    assert secret_value not in dumped and "c2VjcmV0a2V5" not in dumped


def test_key_vault_references_and_secret_refs_pass(plan: dict[str, Any]) -> None:
    web = find(plan, "orders-web", "WebApp")
    web["inputs"]["siteConfig"]["appSettings"].append(
        {
            "name": "DB_PASSWORD",
            "value": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/db)",
        }
    )
    app = find(plan, "reports-app", "ContainerApp")
    app["inputs"]["template"]["containers"][0]["env"].append({"name": "API_KEY", "secretRef": "api-key"})
    app["inputs"]["configuration"]["secrets"].append(
        {"name": "api-key", "keyVaultUrl": "https://kv.vault.azure.net/secrets/api", "identity": "x"}
    )
    assert review(plan).violations == []


def test_literal_container_app_secret_and_client_secret_source_type(plan: dict[str, Any]) -> None:
    app = find(plan, "reports-app", "ContainerApp")
    app["inputs"]["configuration"]["secrets"].append({"name": "api-key", "value": "literal"})
    app["inputs"]["template"]["containers"][0]["env"][3]["value"] = "ClientSecret"
    found = only(review(plan), "certless-no-secrets-in-settings")
    messages = [m for _, _, m in found]
    assert any("selects a stored credential (SourceType ClientSecret)" in m for m in messages)
    assert any("configuration.secrets 'api-key' holds a literal value" in m for m in messages)


def test_allowed_names_exempt_a_reviewed_setting(plan: dict[str, Any]) -> None:
    web = find(plan, "orders-web", "WebApp")
    web["inputs"]["siteConfig"]["appSettings"].append({"name": "PUBLIC_API_KEY", "value": "pk_live_public"})
    assert only(review(plan), "certless-no-secrets-in-settings")
    config = {"certless-no-secrets-in-settings": {"allowedNames": ["PUBLIC_API_KEY"]}}
    assert review(plan, config).violations == []


# --- App Service hardening --------------------------------------------------------------------------


def test_app_service_hardening_is_advisory(plan: dict[str, Any]) -> None:
    web = find(plan, "orders-web", "WebApp")
    set_prop(web, "httpsOnly", False)
    set_prop(web, "siteConfig.minTlsVersion", "1.0")
    set_prop(web, "siteConfig.ftpsState", DELETE)
    assert only(review(plan), "certless-app-service-hardening") == [
        (
            "advisory",
            "orders-web",
            "'orders-web': httpsOnly is not true; siteConfig.minTlsVersion is 1.0 (expected 1.2 or later); "
            "siteConfig.ftpsState is unset (expected Disabled).",
        )
    ]


# --- AKS workload identity ------------------------------------------------------------------------


def test_label_on_the_deployment_instead_of_the_pod_template(plan: dict[str, Any]) -> None:
    deployment = find(plan, "billing", "Deployment")
    set_prop(deployment, "spec.template.metadata.labels", {"app": "billing"})
    set_prop(deployment, "metadata.labels", {"azure.workload.identity/use": "true"})
    found = only(review(plan), "certless-aks-workload-identity")
    assert found[0][:2] == ("mandatory", "billing")
    assert "pod label azure.workload.identity/use is missing" in found[0][2]
    assert "the webhook reads the POD template's labels" in found[0][2]


def test_service_account_without_client_id_and_kube_system(plan: dict[str, Any]) -> None:
    builder = PlanBuilder()
    builder.aks(namespace="kube-system")
    kube = builder.plan()
    account = find(kube, "billing", "ServiceAccount")
    set_prop(account, "metadata.annotations", {})
    found = only(review(kube), "certless-aks-workload-identity")
    messages = [m for _, _, m in found]
    assert any("runs in namespace 'kube-system'" in m for m in messages)
    assert any("has no azure.workload.identity/client-id annotation" in m for m in messages)


def test_label_value_must_be_the_string_true(plan: dict[str, Any]) -> None:
    deployment = find(plan, "billing", "Deployment")
    for side in ("inputs", "outputs"):
        deployment[side]["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] = "True"
    found = only(review(plan), "certless-aks-workload-identity")
    assert "is 'True'; it must be the string \"true\"" in found[0][2]


# --- production protection ----------------------------------------------------------------------


def test_unprotected_identity_chain_in_production(plan: dict[str, Any]) -> None:
    find(plan, "orders-id")["protect"] = False
    find(plan, "orders-fic")["protect"] = False
    found = only(
        review(plan, {"certless-production-protected": {"production": True}}), "certless-production-protected"
    )
    assert [(level, name) for level, name, _ in found] == [
        ("mandatory", "orders-id"),
        ("mandatory", "orders-fic"),
    ]
    assert found[0][2].startswith("UserAssignedIdentity 'orders-id' is not protected in a production stack")


def test_production_is_the_stack_name_unless_configured(plan: dict[str, Any]) -> None:
    find(plan, "orders-app", "Application")["protect"] = False
    assert only(review(plan), "certless-production-protected")[0][1] == "orders-app"  # stack "prod"
    assert review(plan, {"certless-production-protected": {"production": False}}).violations == []
    dev = good_plan("dev")
    find(dev, "orders-app", "Application")["protect"] = False
    assert review(dev).violations == []


# --- preview: unknown values are not reported -----------------------------------------------------

UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's marker for an unknown string


def test_unknown_values_during_preview_are_skipped_not_reported(plan: dict[str, Any]) -> None:
    set_prop(find(plan, "orders-fic"), "subject", UNKNOWN_STRING)
    set_prop(find(plan, "billing-cluster"), "issuer", UNKNOWN_STRING)
    set_prop(find(plan, "orders-web", "WebApp"), "siteConfig.appSettings.4.value", UNKNOWN_STRING)
    set_prop(find(plan, "orders-web", "WebApp"), "httpsOnly", UNKNOWN_STRING)
    result = review(plan)
    assert result.violations == []


def test_unknown_cluster_issuer_does_not_hide_a_broken_entra_issuer(plan: dict[str, Any]) -> None:
    # During a preview the cluster's issuer is often unknown; the Entra-issuer FICs can still be judged.
    binding = next(r for r in plan["resources"] if r["type"] == "certless:compute:AksWorkloadBinding")
    set_prop(binding, "oidc_issuer_url", UNKNOWN_STRING, where=("outputs",))
    set_prop(find(plan, "billing-cluster"), "issuer", UNKNOWN_STRING)
    set_prop(find(plan, "orders-fic"), "issuer", ENTRA_ISSUER + "/")
    found = only(review(plan), "certless-fic-issuer-allowed")
    assert [(level, name) for level, name, _ in found] == [("mandatory", "orders-fic")]
    assert "has a trailing slash" in found[0][2]
