"""The environment a workload sees on each kind of Azure host, pointed at the emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.errors import RecordsError
from emulator.records import Workload

if TYPE_CHECKING:
    from emulator.emulator import Emulator

TOKEN_FILE_NAME = "azure-identity-token"


def _default_credential(emu: Emulator, host: str, workload: Workload, env: dict[str, str]) -> None:
    """For records without AzureAd settings: the credential source the plan would export."""
    if host == "aks-direct":
        env["AzureAd__ClientCredentials__0__SourceType"] = "SignedAssertionFilePath"
        return
    env["AzureAd__ClientCredentials__0__SourceType"] = "SignedAssertionFromManagedIdentity"
    ident = emu.records.identity(workload.identity_client_id) if workload.identity_client_id else None
    if ident is not None and not ident.system_assigned:
        env["AzureAd__ClientCredentials__0__ManagedIdentityClientId"] = ident.client_id


def build_host_env(emu: Emulator, host: str, workload: Workload) -> dict[str, str]:
    env: dict[str, str] = {"REQUESTS_CA_BUNDLE": emu.ca_bundle_path}
    # The workload's own AzureAd settings from the plan, with the authority redirected to the emulator
    # through the runtime's two explicit opt-ins for a non-Entra authority.
    env.update(workload.azure_ad_env)
    env.setdefault("AzureAd__TenantId", workload.tenant_id)
    if workload.app_client_id:
        env.setdefault("AzureAd__ClientId", workload.app_client_id)
    if "AzureAd__ClientCredentials__0__SourceType" not in env:
        _default_credential(emu, host, workload, env)
    env["AzureAd__Instance"] = emu.entra_url + "/"
    env["AzureAd__ExtraAuthorityHosts"] = emu.authority_host
    env["AzureAd__CaBundle"] = emu.ca_bundle_path

    if host in ("appservice", "containerapp"):
        env["IDENTITY_ENDPOINT"] = emu.identity_endpoint
        env["IDENTITY_HEADER"] = emu._identity_header_for(workload.name)
    elif host == "vm":
        env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = emu.host_imds_url(workload.name)
    else:
        if not (workload.cluster and workload.namespace and workload.service_account):
            raise RecordsError(
                "workload",
                workload.name,
                f"an AKS workload (cluster, namespace, service account) for host {host}",
            )
        # via-identity: the pod's token is exchanged for the identity's; direct: for the app's.
        client_id = workload.identity_client_id if host == "aks-via-identity" else workload.app_client_id
        path = emu.work_dir / "tokens" / workload.name / TOKEN_FILE_NAME
        emu.project_service_account_token(
            workload.cluster, workload.namespace, workload.service_account, path
        )
        # What the workload-identity webhook injects into the pod.
        env["AZURE_FEDERATED_TOKEN_FILE"] = str(path)
        env["AZURE_CLIENT_ID"] = client_id
        env["AZURE_TENANT_ID"] = workload.tenant_id
        env["AZURE_AUTHORITY_HOST"] = emu.entra_url + "/"
    return env
