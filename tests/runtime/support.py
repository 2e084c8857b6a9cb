"""Shared by the runtime tests: the records built in code, a fake clock, IDs."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from certless import _http, _jwt
from emulator import Records

TENANT = "7f4c2a10-3b1d-4e55-9a21-5c0d9e8b1a01"
ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"
CLUSTER_ISSUER = f"https://westeurope.oic.prod-aks.azure.com/{TENANT}/0c8f7a3e-1111-4222-8333-944455556666/"
STORAGE = "https://storage.azure.com/.default"


def _id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"certless-tests/{name}"))


@dataclass(frozen=True)
class Ids:
    tenant: str = TENANT
    app: str = _id("app")
    app_direct: str = _id("app-direct")
    app_unfederated: str = _id("app-unfederated")
    identity: str = _id("identity")
    identity_principal: str = _id("identity-principal")
    other_identity: str = _id("other-identity")
    other_principal: str = _id("other-principal")
    aks_identity: str = _id("aks-identity")
    aks_principal: str = _id("aks-principal")


IDS = Ids()

# Every variable that selects a managed identity host: cleared before each test sets its own.
HOST_VARS = (
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
    "CONTAINER_APP_NAME",
    "ASPNETCORE_ENVIRONMENT",
    "DOTNET_ENVIRONMENT",
)


def azure_ad_env(
    client_id: str, source: str = "SignedAssertionFromManagedIdentity", mi: str | None = None
) -> dict[str, str]:
    env = {
        "AzureAd__Instance": "https://login.microsoftonline.com/",
        "AzureAd__TenantId": TENANT,
        "AzureAd__ClientId": client_id,
        "AzureAd__ClientCredentials__0__SourceType": source,
    }
    if mi:
        env["AzureAd__ClientCredentials__0__ManagedIdentityClientId"] = mi
    return env


def build_records() -> Records:
    from emulator import App, Cluster, FederatedCredential, Identity, Workload

    identity = Identity(
        "id-web", IDS.identity, IDS.identity_principal, TENANT, resource_id="/subscriptions/x/id-web"
    )
    other = Identity(
        "id-other", IDS.other_identity, IDS.other_principal, TENANT, resource_id="/subscriptions/x/id-other"
    )
    aks_identity = Identity(
        "id-aks",
        IDS.aks_identity,
        IDS.aks_principal,
        TENANT,
        resource_id="/subscriptions/x/id-aks",
        federated_credentials=[
            FederatedCredential("aks", CLUSTER_ISSUER, "system:serviceaccount:reports:reports-sa")
        ],
    )
    app = App(
        IDS.app,
        TENANT,
        display_name="web",
        federated_credentials=[
            FederatedCredential("web-mi", ISSUER, IDS.identity_principal),
            FederatedCredential("aks-mi", ISSUER, IDS.aks_principal),
        ],
    )
    app.add_secret("dev-only-secret-value")
    app_direct = App(
        IDS.app_direct,
        TENANT,
        display_name="ingest",
        federated_credentials=[
            FederatedCredential("sa", CLUSTER_ISSUER, "system:serviceaccount:ingest:ingest-sa")
        ],
    )
    # The classic mistake: the FIC's subject is the identity's client ID instead of its principal ID.
    app_unfederated = App(
        IDS.app_unfederated,
        TENANT,
        display_name="wrong-fic",
        federated_credentials=[FederatedCredential("client-id-by-mistake", ISSUER, IDS.other_identity)],
    )
    workloads = [
        Workload(
            "web",
            "appservice",
            TENANT,
            IDS.app,
            IDS.identity,
            azure_ad_env=azure_ad_env(IDS.app, mi=IDS.identity),
        ),
        Workload(
            "reports",
            "aks",
            TENANT,
            IDS.app,
            IDS.aks_identity,
            aks_mode="via-identity",
            cluster="aks-prod",
            namespace="reports",
            service_account="reports-sa",
            azure_ad_env=azure_ad_env(IDS.app, mi=IDS.aks_identity),
        ),
        Workload(
            "ingest",
            "aks",
            TENANT,
            IDS.app_direct,
            "",
            aks_mode="direct",
            cluster="aks-prod",
            namespace="ingest",
            service_account="ingest-sa",
            azure_ad_env=azure_ad_env(IDS.app_direct, source="SignedAssertionFilePath"),
        ),
        Workload(
            "lonely",
            "appservice",
            TENANT,
            IDS.app_unfederated,
            IDS.other_identity,
            azure_ad_env=azure_ad_env(IDS.app_unfederated, mi=IDS.other_identity),
        ),
    ]
    return Records(
        tenants=[TENANT],
        apps=[app, app_direct, app_unfederated],
        identities=[identity, other, aks_identity],
        clusters=[Cluster("aks-prod", CLUSTER_ISSUER)],
        workloads=workloads,
    )


class FakeClock(_http.Clock):
    """Wall time follows the real clock plus an offset; sleeping advances the offset instead of waiting
    (or, with ``scale``, waits that fraction of the time for real: for tests against the emulator's
    real-time behaviour such as FIC propagation)."""

    def __init__(self, scale: float = 0.0) -> None:
        self.offset = 0.0
        self.scale = scale
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.offset += seconds
        if self.scale:
            time.sleep(seconds * self.scale)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.offset += seconds


def token_values_in(text: str, *values: str) -> list[str]:
    """The given secret values (or a 20-character slice of them) that appear in ``text``."""
    return [v for v in values if v and (v in text or v[10:30] in text)]


class FakeVault:
    """Key Vault's secrets API for one certificate, shaped as the real service answers; every other request
    goes on to the emulator.

    Like Key Vault, a request without a token gets 401 and a ``WWW-Authenticate`` challenge naming the
    vault's tenant and resource; a token for another audience also gets 401.
    """

    VAULT = "https://certless-test.vault.azure.net"

    def __init__(
        self,
        pfx: bytes,
        *,
        vault: str = VAULT,
        resource: str = "https://vault.azure.net",
        pem: str | None = None,
    ) -> None:
        from certless._http import RequestsTransport

        self.pfx = pfx
        self.pem = pem  # set: the certificate was imported as PEM, and the secret holds that text
        self.vault = vault
        self.resource = resource
        self.challenge = (
            f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", resource="{resource}"'
        )
        self.challenge_status = 401
        self.real = RequestsTransport()
        self.audiences: list[str] = []  # of every token the vault received
        self.requests = 0  # requests to the vault, with or without a token

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | str | None,
        headers: Mapping[str, str],
        timeout: float,
        verify: str | bool,
    ) -> _http.Response:
        if not url.startswith(self.vault):
            return self.real.request(
                method, url, params=params, data=data, headers=headers, timeout=timeout, verify=verify
            )
        self.requests += 1
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            missing = {
                "error": {
                    "code": "Unauthorized",
                    "message": "AKV10000: Request is missing a Bearer or PoP token.",
                }
            }
            return _http.Response(
                self.challenge_status, json.dumps(missing), {"WWW-Authenticate": self.challenge}
            )
        audience = str(_jwt.claims(auth.removeprefix("Bearer "))["aud"])
        self.audiences.append(audience)
        if audience.rstrip("/") != self.resource:
            return _http.Response(
                401, json.dumps({"error": {"code": "Unauthorized"}}), {"WWW-Authenticate": self.challenge}
            )
        if url != f"{self.vault}/secrets/app-cert" or (params or {}).get("api-version") != "7.4":
            return _http.Response(404, json.dumps({"error": {"code": "SecretNotFound"}}))
        body = {"value": base64.b64encode(self.pfx).decode(), "contentType": "application/x-pkcs12"}
        if self.pem is not None:
            body = {"value": self.pem, "contentType": "application/x-pem-file"}
        return _http.Response(200, json.dumps(body))

    def close(self) -> None:
        self.real.close()
