"""Shared setup for the runtime comparisons: one emulator, and the same app/identity reached three ways.

- certless: ``certless.credential_from_settings()`` from the AzureAd environment variables;
- azure-identity: ``ClientAssertionCredential``, its assertion from a shared ``ManagedIdentityCredential``;
- plain MSAL: ``ConfidentialClientApplication``, its assertion from a shared ``ManagedIdentityClient``.

Every emulator endpoint answers 20 ms late, like a nearby real service. The emulator's IMDS rate limit is off
so the figures count requests, not throttling.
"""

from __future__ import annotations

import os
import statistics
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from emulator import App, Emulator, FederatedCredential, Identity, Records, Workload  # noqa: E402

TENANT = "5b0c6f6a-0d5e-4b43-9f0e-2f6a5d1c0a01"
APP = str(uuid.uuid5(uuid.NAMESPACE_URL, "certless-bench/app"))
IDENTITY = str(uuid.uuid5(uuid.NAMESPACE_URL, "certless-bench/identity"))
PRINCIPAL = str(uuid.uuid5(uuid.NAMESPACE_URL, "certless-bench/principal"))
SCOPE = "https://storage.azure.com/.default"
EXCHANGE = "api://AzureADTokenExchange"
LATENCY = 0.020
ENDPOINTS = ("entra-discovery", "entra-token", "appservice", "imds")


def records() -> Records:
    app = App(
        APP,
        TENANT,
        display_name="bench",
        federated_credentials=[
            FederatedCredential("mi", f"https://login.microsoftonline.com/{TENANT}/v2.0", PRINCIPAL)
        ],
    )
    ident = Identity("id-bench", IDENTITY, PRINCIPAL, TENANT, resource_id="/subscriptions/b/id-bench")
    env = {
        "AzureAd__Instance": "https://login.microsoftonline.com/",
        "AzureAd__TenantId": TENANT,
        "AzureAd__ClientId": APP,
        "AzureAd__ClientCredentials__0__SourceType": "SignedAssertionFromManagedIdentity",
        "AzureAd__ClientCredentials__0__ManagedIdentityClientId": IDENTITY,
    }
    return Records(
        tenants=[TENANT],
        apps=[app],
        identities=[ident],
        workloads=[Workload("web", "appservice", TENANT, APP, IDENTITY, azure_ad_env=env)],
    )


@contextmanager
def emulator(host: str = "appservice") -> Iterator[Emulator]:
    with Emulator(records(), identity_limits=None) as emu:
        for endpoint in ENDPOINTS:
            emu.faults.latency(endpoint, LATENCY)
        os.environ.update(emu.host_env(host=host, workload="web"))
        yield emu


def counts(emu: Emulator) -> dict[str, int]:
    c = emu.counters
    return {
        "identity": c.get("appservice", 0) + c.get("imds", 0),
        "token": c.get("entra-token", 0),
        "discovery": c.get("entra-discovery", 0),
    }


# ------------------------------------------------------------------------------------------ contenders


def certless_contender(emu: Emulator) -> Callable[[], Any]:
    from certless import credential_from_settings
    from certless._engine import forget_apps

    # Credentials in one process share MSAL apps (and their token caches): start each contender cold,
    # as a fresh process would be. The OIDC document stays cached, as it would in a running app.
    forget_apps()
    credential = credential_from_settings()
    return lambda: credential.get_token(SCOPE).token


def azure_identity_contender(emu: Emulator) -> Callable[[], Any]:
    from azure.identity import ClientAssertionCredential, ManagedIdentityCredential

    mi = ManagedIdentityCredential(client_id=IDENTITY)
    credential = ClientAssertionCredential(
        TENANT,
        APP,
        lambda: mi.get_token(f"{EXCHANGE}/.default").token,
        authority=emu.entra_url,
        connection_verify=emu.ca_bundle_path,
    )
    return lambda: credential.get_token(SCOPE).token


def msal_contender(emu: Emulator) -> Callable[[], Any]:
    import msal
    import requests

    session = requests.Session()
    session.verify = emu.ca_bundle_path
    mi = msal.ManagedIdentityClient(
        msal.UserAssignedManagedIdentity(client_id=IDENTITY), http_client=requests.Session()
    )
    app = msal.ConfidentialClientApplication(
        APP,
        client_credential={
            "client_assertion": lambda: mi.acquire_token_for_client(resource=EXCHANGE)["access_token"]
        },
        authority=emu.authority(TENANT),
        instance_discovery=False,
        http_client=session,
    )

    def get() -> Any:
        result = app.acquire_token_for_client([SCOPE])
        if "access_token" not in result:
            raise RuntimeError(f"MSAL: {result.get('error')}: {result.get('error_description', '')[:200]}")
        return result["access_token"]

    return get


CONTENDERS: dict[str, Callable[[Emulator], Callable[[], Any]]] = {
    "certless": certless_contender,
    "azure-identity": azure_identity_contender,
    "msal": msal_contender,
}


def med_max(values: list[float]) -> str:
    return f"median {statistics.median(values):g}, max {max(values):g}"
