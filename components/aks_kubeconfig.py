"""The kubeconfig the kubernetes provider uses for an AKS cluster, per ``aks.credentials`` mode.

An Entra-integrated (AAD) cluster answers listClusterUserCredential with an exec kubeconfig that runs
``kubelogin get-token --login devicecode``: an interactive sign-in that hangs a deployment. The
non-interactive kubelogin modes are written here the way ``kubelogin convert-kubeconfig -l <mode>``
writes them (kubelogin's ``pkg/internal/converter``), so the program never runs kubelogin itself; only
the kubernetes provider does, through the exec plugin, on the deploying machine.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import yaml

from components.errors import EnvironmentMismatchError

ClusterCredentials = Literal["user", "azurecli", "workloadidentity", "msi", "spn", "admin"]
KUBELOGIN_MODES: Final[tuple[ClusterCredentials, ...]] = ("azurecli", "workloadidentity", "msi", "spn")
"""Modes whose kubeconfig execs kubelogin: the deploying machine needs the kubelogin binary on PATH."""
MODES: Final[tuple[ClusterCredentials, ...]] = ("user", *KUBELOGIN_MODES, "admin")

AKS_SERVER_ID: Final = "6dae42f8-4368-4678-94ff-3960e28e3630"
"""The AKS AAD server application: the token audience of every AKS cluster, in every cloud."""
EXEC_API_VERSION: Final = "client.authentication.k8s.io/v1beta1"
INSTALL_HINT: Final = (
    "kubelogin is not installed, which is required to connect to AAD enabled cluster.\n"
    "To learn more, please go to https://aka.ms/aks/kubelogin\n"
)

WHAT_EACH_MODE_READS: Final[dict[str, str]] = {
    "azurecli": "the Azure CLI login (az login)",
    "workloadidentity": "AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST",
    "msi": "the machine's managed identity (AZURE_CLIENT_ID picks a user-assigned one)",
    "spn": "ARM_CLIENT_ID, ARM_TENANT_ID and ARM_CLIENT_SECRET or ARM_CLIENT_CERTIFICATE_PATH",
}


def _arg(args: list[Any], flag: str) -> str | None:
    for i, value in enumerate(args[:-1]):
        if value == flag:
            return str(args[i + 1])
    return None


def _kubelogin_exec(user: Any) -> dict[str, Any] | None:
    """The exec block of a user that authenticates through kubelogin (what `convert` rewrites)."""
    if not isinstance(user, dict):
        return None
    exec_ = user.get("exec")
    if isinstance(exec_, dict) and str(exec_.get("command", "")).replace("\\", "/").rsplit("/", 1)[-1] in (
        "kubelogin",
        "kubelogin.exe",
    ):
        return exec_
    provider = user.get("auth-provider")
    if isinstance(provider, dict) and provider.get("name") == "azure":  # the legacy, removed plugin
        config = provider.get("config") or {}
        args = ["--server-id", config.get("apiserver-id") or AKS_SERVER_ID]
        if config.get("environment"):
            args += ["--environment", config["environment"]]
        return {"args": args}
    return None


def _converted(old: dict[str, Any], mode: ClusterCredentials, tenant_id: str, client_id: str | None) -> Any:
    args = [str(a) for a in old.get("args") or []]
    server_id = _arg(args, "--server-id") or AKS_SERVER_ID
    new_args = ["get-token", "--login", mode, "--server-id", server_id]
    if mode in ("spn", "msi") and client_id:
        new_args += ["--client-id", client_id]
    if mode == "spn":
        new_args += ["--tenant-id", tenant_id]
        environment = _arg(args, "--environment")
        if environment:
            new_args += ["--environment", environment]
        # The secret stays out of the kubeconfig: kubelogin reads the ARM_* variables that the
        # azure-native provider reads too (kubelogin would otherwise read AAD_SERVICE_PRINCIPAL_*/AZURE_*).
        new_args.append("--use-azurerm-env-vars")
    return {
        "apiVersion": old.get("apiVersion") or EXEC_API_VERSION,
        "command": "kubelogin",
        "args": new_args,
        "installHint": old.get("installHint") or INSTALL_HINT,
        "provideClusterInfo": False,
    }


def provider_kubeconfig(
    kubeconfig: str,
    mode: ClusterCredentials,
    *,
    where: str,
    tenant_id: str,
    client_id: str | None = None,
) -> str:
    """The kubeconfig for the kubernetes provider, or a clear error when ``mode`` cannot work here.

    ``where`` names the workload and cluster in errors; ``client_id`` is the deployer's (spn, msi).
    """
    try:
        doc = yaml.safe_load(kubeconfig)
    except yaml.YAMLError:
        doc = None
    if not isinstance(doc, dict):
        raise EnvironmentMismatchError(
            f"{where}: the cluster returned a kubeconfig that is not a YAML mapping"
        )
    users = [u for u in doc.get("users") or [] if isinstance(u, dict)]
    entra = [(u, e) for u in users if (e := _kubelogin_exec(u.get("user"))) is not None]
    if mode in ("user", "admin"):
        if entra:
            login = _arg([str(a) for a in entra[0][1].get("args") or []], "--login") or "devicecode"
            raise EnvironmentMismatchError(
                f"{where} uses Entra ID (AAD) authentication: its {mode} kubeconfig runs `kubelogin get-token"
                f" --login {login}`, an interactive sign-in that hangs a deployment; expected aks.credentials"
                " azurecli, workloadidentity, msi or spn (kubelogin's non-interactive logins)"
            )
        return kubeconfig
    if not entra:
        raise EnvironmentMismatchError(
            f"{where} does not use Entra ID (AAD) authentication: its user kubeconfig carries its own"
            f" credential and runs no kubelogin, so aks.credentials {mode!r} cannot apply; expected"
            " aks.credentials 'user' (or enable Entra integration on the cluster)"
        )
    for user, old in entra:
        user["user"] = {"exec": _converted(old, mode, tenant_id, client_id)}
    return yaml.safe_dump(doc, sort_keys=False)
