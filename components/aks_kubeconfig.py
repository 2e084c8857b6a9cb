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
PUBLIC_CLOUD_NAMES: Final = frozenset({"AZURECLOUD", "AZUREPUBLIC", "AZUREPUBLICCLOUD"})
"""kubelogin's names for the public cloud (``GetCloudConfiguration``), compared in upper case."""
INSTALL_HINT: Final = (
    "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\n"
    "To learn more, please go to https://azure.github.io/kubelogin/\n"
)
"""kubelogin's own hint, written when the converted user had none (a kept hint wins)."""

WHAT_EACH_MODE_READS: Final[dict[str, str]] = {
    "azurecli": "the Azure CLI login (az login)",
    "workloadidentity": (
        "AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE (or, in GitHub Actions,"
        " ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN), AZURE_AUTHORITY_HOST"
    ),
    "msi": "the machine's managed identity (AZURE_CLIENT_ID picks a user-assigned one)",
    "spn": (
        "AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH (or the AAD_SERVICE_PRINCIPAL_* names);"
        " AZURE_CLIENT_ID and AZURE_TENANT_ID override the written IDs"
    ),
}


def _arg(args: list[str], flag: str) -> str | None:
    for i, value in enumerate(args[:-1]):
        if value == flag:
            return args[i + 1]
    return None


def _is_kubelogin(user: dict[str, Any]) -> bool:
    exec_ = user.get("exec")
    # The converter's test: the command contains "kubelogin", in any case, with any path or suffix.
    return isinstance(exec_, dict) and "kubelogin" in str(exec_.get("command") or "").lower()


def _is_legacy_azure(user: dict[str, Any]) -> bool:
    provider = user.get("auth-provider")
    return isinstance(provider, dict) and provider.get("name") == "azure"


def _entra(user: Any) -> bool:
    """Whether ``kubelogin convert-kubeconfig`` would rewrite this user: kubelogin exec or legacy azure."""
    return isinstance(user, dict) and (_is_kubelogin(user) or _is_legacy_azure(user))


def _converted(
    user: dict[str, Any],
    mode: ClusterCredentials,
    *,
    where: str,
    tenant_id: str,
    client_id: str | None,
) -> dict[str, Any]:
    """``user`` as `kubelogin convert-kubeconfig -l <mode> [--client-id <client_id>]` leaves it.

    The values the converter takes from the old user (server ID, and for spn the client ID, tenant,
    cloud, --legacy and the PoP pair) come from the exec arguments or the legacy provider's config.
    """
    old_exec = user.get("exec") if isinstance(user.get("exec"), dict) else None
    legacy = not _is_kubelogin(user) and _is_legacy_azure(user)
    if legacy:
        config = {str(k): str(v) for k, v in (user["auth-provider"].get("config") or {}).items()}
        old_args: list[str] = []
        server_id = config.get("apiserver-id")
        old_client, old_tenant = config.get("client-id"), config.get("tenant-id")
        environment = config.get("environment")
        is_legacy_audience = config.get("config-mode", "") in ("", "0")
    else:
        old_args = [str(a) for a in (old_exec or {}).get("args") or []]
        server_id = _arg(old_args, "--server-id")
        old_client, old_tenant = _arg(old_args, "--client-id"), _arg(old_args, "--tenant-id")
        environment = _arg(old_args, "--environment")
        is_legacy_audience = "--legacy" in old_args
    if not server_id:
        raise EnvironmentMismatchError(
            f"{where}: the cluster's kubeconfig names no --server-id; expected the AKS server application"
            f" ({AKS_SERVER_ID}), which every kubelogin login needs"
        )
    args = ["get-token", "--login", mode, "--server-id", server_id]
    cache_dir = _arg(old_args, "--cache-dir") or _arg(old_args, "--token-cache-dir")
    if cache_dir:
        args += ["--cache-dir", cache_dir]
    if mode == "msi" and client_id:
        args += ["--client-id", client_id]
    elif mode == "workloadidentity" and environment and environment.upper() not in PUBLIC_CLOUD_NAMES:
        # Beyond the converter: in GitHub Actions kubelogin (v0.2.19) signs in at --environment's login
        # host unless AZURE_AUTHORITY_HOST is set, so a sovereign cluster keeps its cloud here.
        args += ["--environment", environment]
    elif mode == "spn":
        # No secret or certificate flag: kubelogin reads them from the environment at get-token time.
        args += ["--client-id", client_id or old_client or "", "--tenant-id", old_tenant or tenant_id]
        if environment:
            args += ["--environment", environment]
        if is_legacy_audience:
            args.append("--legacy")
        pop_enabled, pop_claims = "--pop-enabled" in old_args, _arg(old_args, "--pop-claims")
        if pop_enabled != bool(pop_claims):
            raise EnvironmentMismatchError(
                f"{where}: the cluster's kubeconfig sets only one of --pop-enabled and --pop-claims;"
                " expected both or neither (kubelogin needs them together)"
            )
        if pop_enabled and pop_claims:
            args += ["--pop-enabled", "--pop-claims", pop_claims]
    hint = (old_exec or {}).get("installHint") if not legacy else None
    new_user = {k: v for k, v in user.items() if k not in ("exec", "auth-provider")}
    # The fields client-go writes for an exec block kubelogin built: env null, no interactiveMode.
    new_user["exec"] = {
        "apiVersion": EXEC_API_VERSION,
        "command": "kubelogin",
        "args": args,
        "env": None,
        "installHint": hint or INSTALL_HINT,
        "provideClusterInfo": False,
    }
    return new_user


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
    entra = [u for u in users if _entra(u.get("user"))]
    if mode in ("user", "admin"):
        if entra:
            old = entra[0]["user"].get("exec") or {}
            login = _arg([str(a) for a in old.get("args") or []], "--login") or "devicecode"
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
    for user in entra:
        user["user"] = _converted(user["user"], mode, where=where, tenant_id=tenant_id, client_id=client_id)
    return yaml.safe_dump(doc, sort_keys=False)
