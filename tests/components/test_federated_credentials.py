"""FederatedCredential and ManagedIdentity: issuer, subject and audience per cloud; serialized writes."""

from __future__ import annotations

from typing import Any

import pytest
from component_fakes import SUBSCRIPTION, install, run

from components import (
    CLOUDS,
    AppRegistration,
    AppRegistrationArgs,
    FederatedCredential,
    FederatedCredentialArgs,
    ManagedIdentity,
    ManagedIdentityArgs,
)
from components.naming import FIC_NAME_RE, fic_name

TENANT = "0f0e0d0c-0b0a-4909-8807-060504030201"
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
MI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"


def new_identity(name: str = "id") -> ManagedIdentity:
    return ManagedIdentity(name, ManagedIdentityArgs(resource_group_name="rg", identity_name=f"id-{name}"))


@pytest.mark.parametrize(
    ("cloud", "host", "audience"),
    [
        ("AzurePublic", "login.microsoftonline.com", "api://AzureADTokenExchange"),
        ("AzureUSGovernment", "login.microsoftonline.us", "api://AzureADTokenExchangeUSGov"),
        ("AzureChina", "login.partner.microsoftonline.cn", "api://AzureADTokenExchangeChina"),
    ],
)
def test_app_trusts_identity_with_the_clouds_issuer_and_audience(
    cloud: str, host: str, audience: str
) -> None:
    rec, _ = install()
    c = CLOUDS[cloud]

    def program() -> Any:
        identity = new_identity()
        app = AppRegistration("app", AppRegistrationArgs("certless-test"))
        fic = FederatedCredential(
            "trust",
            FederatedCredentialArgs(
                credential_name="uami-id",
                issuer=c.issuer(TENANT),
                subject=identity.principal_id,
                audience=c.token_exchange_audience,
                app=app.outputs,
            ),
        )
        return {"described": fic.describe()}

    out = run(program)
    uami = rec.one(UAMI).outputs
    fic = rec.one(APP_FIC)
    assert fic.inputs["issuer"] == f"https://{host}/{TENANT}/v2.0"  # no trailing slash
    assert fic.inputs["subject"] == uami["principalId"] != uami["clientId"]
    assert fic.inputs["audiences"] == [audience]
    assert fic.inputs["displayName"] == "uami-id"
    app = rec.one("azuread:index/application:Application").outputs
    assert fic.inputs["applicationId"] == f"/applications/{app['objectId']}"
    assert rec.one("certless:entra:FederatedCredential").parent.split("::")[2] == "pulumi:pulumi:Stack"
    assert fic.parent.endswith("certless:entra:FederatedCredential::trust")
    assert out["described"] == {
        "name": "uami-id",
        "on": "app",
        "issuer": f"https://{host}/{TENANT}/v2.0",
        "subject": uami["principalId"],
        "audience": audience,
    }
    assert c.instance == f"https://{host}/"


def test_credentials_on_one_identity_are_written_one_at_a_time() -> None:
    rec, _ = install()

    def program() -> Any:
        identity = new_identity("shared").outputs
        other = new_identity("other").outputs
        for i in range(3):
            FederatedCredential(
                f"c{i}",
                FederatedCredentialArgs(
                    credential_name=f"aks-{i}",
                    issuer=f"https://issuer{i}.example/",
                    subject=f"system:serviceaccount:ns:sa{i}",
                    audience="api://AzureADTokenExchange",
                    identity=identity,
                ),
            )
        FederatedCredential(
            "o0",
            FederatedCredentialArgs(
                credential_name="aks-o",
                issuer="https://issuer.example/",
                subject="system:serviceaccount:ns:o",
                audience="api://AzureADTokenExchange",
                identity=other,
            ),
        )

    run(program)
    fics = {r.name: r for r in rec.of_type(MI_FIC)}
    assert set(fics) == {"c0", "c1", "c2", "o0"}
    assert fics["c1"].urn != fics["c0"].urn
    assert fics["c0"].urn not in fics["c0"].dependencies
    assert fics["c0"].urn in fics["c1"].dependencies
    assert fics["c1"].urn in fics["c2"].dependencies
    assert fics["c0"].urn not in fics["c2"].dependencies  # a chain, not a fan-in
    # Another identity has its own queue: it does not wait on the first identity's writes.
    assert not {fics[n].urn for n in ("c0", "c1", "c2")} & set(fics["o0"].dependencies)
    c0 = fics["c0"].inputs
    assert c0["resourceName"] == "id-shared" and c0["resourceGroupName"] == "rg"
    assert c0["federatedIdentityCredentialResourceName"] == "aks-0"
    assert c0["subject"] == "system:serviceaccount:ns:sa0"


def test_adopting_an_identity_reads_it_and_creates_nothing() -> None:
    rec, _ = install()
    rid = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-shared/providers/"
        "Microsoft.ManagedIdentity/userAssignedIdentities/id-existing"
    )

    def program() -> Any:
        identity = ManagedIdentity("existing", ManagedIdentityArgs(existing_resource_id=rid))
        return {
            "rid": identity.resource_id,
            "rg": identity.outputs.resource_group_name,
            "name": identity.name,
        }

    out = run(program)
    (uami,) = rec.of_type(UAMI)
    assert uami.read is True
    assert out == {"rid": rid, "rg": "rg-shared", "name": "id-existing"}


def test_components_refuse_bad_names_and_owners() -> None:
    install()
    with pytest.raises(ValueError, match=r"federated credential name '-x' is invalid"):
        FederatedCredential(
            "bad", FederatedCredentialArgs(credential_name="-x", issuer="i", subject="s", audience="a")
        )
    with pytest.raises(ValueError, match=r"exactly one of app or identity"):
        FederatedCredential(
            "none", FederatedCredentialArgs(credential_name="okname", issuer="i", subject="s", audience="a")
        )


def test_fic_names_are_valid_deterministic_and_bounded() -> None:
    long = fic_name("aks", "c" * 63, "n" * 63, "s" * 200)
    assert FIC_NAME_RE.fullmatch(long) and len(long) == 120
    assert long == fic_name("aks", "c" * 63, "n" * 63, "s" * 200)
    assert long != fic_name("aks", "c" * 63, "n" * 63, "s" * 199 + "t")
    assert fic_name("aks", "cluster", "ns", "my.sa") == "aks-cluster-ns-my-sa"


def test_identity_outputs_resolve_from_the_created_identity() -> None:
    rec, _ = install()

    def program() -> Any:
        identity = new_identity("named")
        return {
            k: getattr(identity, k) for k in ("client_id", "principal_id", "tenant_id", "resource_id", "name")
        }

    out = run(program)
    uami = rec.one(UAMI)
    assert uami.inputs["resourceName"] == "id-named" and uami.read is False
    assert out["client_id"] == uami.outputs["clientId"]
    assert out["principal_id"] == uami.outputs["principalId"]
    assert out["resource_id"].endswith("/userAssignedIdentities/id-named")
    assert out["name"] == "id-named"
