"""aks.credentials: the exec block matches what `kubelogin convert-kubeconfig -l <mode>` writes.

Each row is a kubeconfig user shape that kubelogin's converter handles (pkg/internal/converter), the
mode, and what the real converter writes for it: the argument list in its order, the install hint, and
no other exec field than client-go serialises (``env: null``, ``provideClusterInfo: false``, no
``interactiveMode``). The values are this project's own.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.aks_kubeconfig import provider_kubeconfig
from components.errors import EnvironmentMismatchError

SERVER = "6dae42f8-4368-4678-94ff-3960e28e3630"
PUBLIC_CLIENT = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"
CLUSTER_TENANT = "7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
STACK_TENANT = "0d2b6f3e-6a3c-4e1e-9d7b-1a2b3c4d5e6f"
DEPLOYER = "5b1a3f0e-9c2d-4e7f-8a6b-0c1d2e3f4a5b"
AKS_HINT = (
    "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\n"
    "To learn more, please go to https://aka.ms/aks/kubelogin\n"
)
KUBELOGIN_HINT = (
    "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\n"
    "To learn more, please go to https://azure.github.io/kubelogin/\n"
)
WHERE = "workload 'w': AKS cluster 'c'"


def devicecode(*extra: str, command: str = "kubelogin", hint: str | None = AKS_HINT) -> dict[str, Any]:
    """An AKS user exec block (listClusterUserCredential, format exec), with ``extra`` arguments."""
    exec_: dict[str, Any] = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": command,
        "args": [
            "get-token",
            "--environment",
            "AzureUSGovernmentCloud",
            "--server-id",
            SERVER,
            "--client-id",
            PUBLIC_CLIENT,
            "--tenant-id",
            CLUSTER_TENANT,
            "--login",
            "devicecode",
            *extra,
        ],
        "env": None,
        "interactiveMode": "IfAvailable",
        "provideClusterInfo": False,
    }
    if hint is not None:
        exec_["installHint"] = hint
    return {"exec": exec_}


def public_cloud(user: dict[str, Any]) -> dict[str, Any]:
    """The same user for a cluster in the public cloud (what az aks get-credentials writes there)."""
    args = user["exec"]["args"]
    args[args.index("--environment") + 1] = "AzurePublicCloud"
    return user


def legacy(config_mode: str | None, **config: str) -> dict[str, Any]:
    """The removed `azure` auth-provider (format azure)."""
    cfg = {"apiserver-id": SERVER, "client-id": PUBLIC_CLIENT, "tenant-id": CLUSTER_TENANT, **config}
    if config_mode is not None:
        cfg["config-mode"] = config_mode
    return {"auth-provider": {"name": "azure", "config": cfg}}


def kubeconfig(user: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": "https://c.hcp.example.azmk8s.io:443"}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "c",
            "users": [{"name": "u", "user": user}],
        }
    )


def converted(user: dict[str, Any], mode: Any, client_id: str | None = DEPLOYER) -> dict[str, Any]:
    text = provider_kubeconfig(
        kubeconfig(user), mode, where=WHERE, tenant_id=STACK_TENANT, client_id=client_id
    )
    (out,) = yaml.safe_load(text)["users"]
    return dict(out["user"])


HEAD = ["get-token", "--login"]
SPN_TAIL = ["--client-id", DEPLOYER, "--tenant-id", CLUSTER_TENANT, "--environment", "AzureUSGovernmentCloud"]

ROWS: list[tuple[str, dict[str, Any], str, str | None, list[str], str]] = [
    # (id, user, mode, deployer client id, expected args, expected install hint)
    ("azurecli", devicecode(), "azurecli", DEPLOYER, [*HEAD, "azurecli", "--server-id", SERVER], AKS_HINT),
    # workloadidentity keeps a sovereign cluster's cloud, which the converter drops: in GitHub Actions
    # kubelogin signs in at --environment's login host unless AZURE_AUTHORITY_HOST says otherwise.
    (
        "workloadidentity",
        devicecode(),
        "workloadidentity",
        DEPLOYER,
        [*HEAD, "workloadidentity", "--server-id", SERVER, "--environment", "AzureUSGovernmentCloud"],
        AKS_HINT,
    ),
    (
        "workloadidentity-public",
        public_cloud(devicecode()),
        "workloadidentity",
        DEPLOYER,
        [*HEAD, "workloadidentity", "--server-id", SERVER],
        AKS_HINT,
    ),
    (
        "msi",
        devicecode(),
        "msi",
        DEPLOYER,
        [*HEAD, "msi", "--server-id", SERVER, "--client-id", DEPLOYER],
        AKS_HINT,
    ),
    ("msi-without-client", devicecode(), "msi", None, [*HEAD, "msi", "--server-id", SERVER], AKS_HINT),
    # spn keeps the cluster's tenant and cloud from the kubeconfig and writes no secret flag.
    ("spn", devicecode(), "spn", DEPLOYER, [*HEAD, "spn", "--server-id", SERVER, *SPN_TAIL], AKS_HINT),
    # Without a client ID the converter keeps the kubeconfig's (AZURE_CLIENT_ID overrides it at run time).
    (
        "spn-without-client",
        devicecode(),
        "spn",
        None,
        [*HEAD, "spn", "--server-id", SERVER, "--client-id", PUBLIC_CLIENT, *SPN_TAIL[2:]],
        AKS_HINT,
    ),
    # A kubeconfig without an install hint gets kubelogin's own.
    (
        "no-hint",
        devicecode(hint=None),
        "azurecli",
        DEPLOYER,
        [*HEAD, "azurecli", "--server-id", SERVER],
        KUBELOGIN_HINT,
    ),
    # The cache directory is carried (the deprecated --token-cache-dir becomes --cache-dir).
    (
        "token-cache-dir",
        public_cloud(devicecode("--token-cache-dir", "/var/cache/kl")),
        "workloadidentity",
        DEPLOYER,
        [*HEAD, "workloadidentity", "--server-id", SERVER, "--cache-dir", "/var/cache/kl"],
        AKS_HINT,
    ),
    # --legacy survives for spn only.
    (
        "legacy-flag-spn",
        devicecode("--legacy"),
        "spn",
        DEPLOYER,
        [*HEAD, "spn", "--server-id", SERVER, *SPN_TAIL, "--legacy"],
        AKS_HINT,
    ),
    ("legacy-flag-msi", devicecode("--legacy"), "msi", None, [*HEAD, "msi", "--server-id", SERVER], AKS_HINT),
    # PoP flags survive for spn, together; other modes drop them.
    (
        "pop-spn",
        devicecode("--pop-enabled", "--pop-claims", "u=/subscriptions/s/c"),
        "spn",
        DEPLOYER,
        [
            *HEAD,
            "spn",
            "--server-id",
            SERVER,
            *SPN_TAIL,
            "--pop-enabled",
            "--pop-claims",
            "u=/subscriptions/s/c",
        ],
        AKS_HINT,
    ),
    (
        "pop-azurecli",
        devicecode("--pop-enabled", "--pop-claims", "u=/subscriptions/s/c"),
        "azurecli",
        DEPLOYER,
        [*HEAD, "azurecli", "--server-id", SERVER],
        AKS_HINT,
    ),
    # The binary is recognised as the converter does: any command containing "kubelogin", any case.
    (
        "command-path",
        devicecode(command="/opt/bin/KubeLogin.exe"),
        "azurecli",
        DEPLOYER,
        [*HEAD, "azurecli", "--server-id", SERVER],
        AKS_HINT,
    ),
    # The legacy auth-provider: config-mode "1" is not legacy; kubelogin's own hint.
    (
        "provider-mode-1",
        legacy("1", environment="AzureUSGovernmentCloud"),
        "spn",
        DEPLOYER,
        [*HEAD, "spn", "--server-id", SERVER, *SPN_TAIL],
        KUBELOGIN_HINT,
    ),
    # config-mode absent or "0" means the legacy (spn:-prefixed) audience: spn gets --legacy.
    (
        "provider-mode-0",
        legacy("0", environment="AzureUSGovernmentCloud"),
        "spn",
        DEPLOYER,
        [*HEAD, "spn", "--server-id", SERVER, *SPN_TAIL, "--legacy"],
        KUBELOGIN_HINT,
    ),
    (
        "provider-mode-absent",
        legacy(None),
        "spn",
        DEPLOYER,
        [
            *HEAD,
            "spn",
            "--server-id",
            SERVER,
            "--client-id",
            DEPLOYER,
            "--tenant-id",
            CLUSTER_TENANT,
            "--legacy",
        ],
        KUBELOGIN_HINT,
    ),
    (
        "provider-msi",
        legacy("0"),
        "msi",
        DEPLOYER,
        [*HEAD, "msi", "--server-id", SERVER, "--client-id", DEPLOYER],
        KUBELOGIN_HINT,
    ),
]


@pytest.mark.parametrize(
    ("user", "mode", "client_id", "args", "hint"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_the_exec_block_is_what_kubelogin_convert_writes(
    user: dict[str, Any], mode: str, client_id: str | None, args: list[str], hint: str
) -> None:
    out = converted(user, mode, client_id)
    assert set(out) == {"exec"}
    assert out["exec"] == {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "kubelogin",
        "args": args,
        "env": None,
        "installHint": hint,
        "provideClusterInfo": False,
    }


def test_other_credentials_of_the_user_are_kept_as_the_converter_keeps_them() -> None:
    user = {**devicecode(), "username": "ops"}
    out = converted(user, "azurecli")
    assert out["username"] == "ops" and out["exec"]["args"][2] == "azurecli"


def test_a_kubelogin_user_without_server_id_is_refused_as_the_converter_refuses_it() -> None:
    user = devicecode()
    args = user["exec"]["args"]
    del args[3:5]
    with pytest.raises(EnvironmentMismatchError) as err:
        converted(user, "azurecli")
    assert str(err.value).startswith(WHERE) and "--server-id" in str(err.value)


@pytest.mark.parametrize("extra", [("--pop-enabled",), ("--pop-claims", "u=/subscriptions/s/c")])
def test_spn_with_half_of_the_pop_flags_is_refused(extra: tuple[str, ...]) -> None:
    with pytest.raises(EnvironmentMismatchError) as err:
        converted(devicecode(*extra), "spn")
    message = str(err.value)
    assert message.startswith(WHERE) and "--pop-enabled" in message and "--pop-claims" in message


def test_a_command_that_is_not_kubelogin_is_not_an_entra_user() -> None:
    with pytest.raises(EnvironmentMismatchError, match="does not use Entra ID"):
        converted(devicecode(command="kubectl-oidc_login"), "azurecli")
