"""AKS workload identity: the webhook only injects the projected token when the contract is met."""

from __future__ import annotations

from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import _stack
from ._props import (
    AKS_BINDING,
    GUID_RE,
    K8S_SERVICE_ACCOUNT,
    K8S_WORKLOADS,
    UNKNOWN,
    dig,
    pod_template,
    settings_of,
)

WORKLOAD_IDENTITY = "certless-aks-workload-identity"
ADMIN_CREDENTIALS = "certless-aks-admin-credentials"

USE_LABEL: Final = "azure.workload.identity/use"
CLIENT_ID_ANNOTATION: Final = "azure.workload.identity/client-id"
DEFAULT_FORBIDDEN: Final = ["kube-system"]


def _namespace(node: _stack.Node) -> Any:
    value = dig(node.props, "metadata", "namespace")
    return "default" if value is None else value


def _uses_certless(node: _stack.Node) -> bool:
    return any(
        s.name.replace(":", "__").lower().startswith("azuread__") for s in settings_of(node.type, node.props)
    )


def _workload_identity(args: StackValidationArgs, report: ReportViolation) -> None:
    view = _stack.build(args.resources)
    forbidden = set(args.get_config().get("forbiddenNamespaces") or DEFAULT_FORBIDDEN)
    accounts: dict[tuple[Any, Any], _stack.Node] = {}
    for node in view.nodes:
        if node.type == K8S_SERVICE_ACCOUNT:
            accounts[(_namespace(node), dig(node.props, "metadata", "name"))] = node
            annotation = dig(node.props, "metadata", "annotations", CLIENT_ID_ANNOTATION)
            if annotation is None or annotation is UNKNOWN:
                continue
            if not isinstance(annotation, str) or not GUID_RE.match(annotation):
                report(
                    f"service account '{node.name}': annotation {CLIENT_ID_ANNOTATION} = '{annotation}' is "
                    "not a client ID (GUID).",
                    node.urn,
                )
            if _namespace(node) in forbidden:
                report(
                    f"service account '{node.name}' is in namespace '{_namespace(node)}', where the "
                    "workload identity webhook does not mutate pods; use an application namespace.",
                    node.urn,
                )
    for node in view.nodes:
        if node.type not in K8S_WORKLOADS:
            continue
        pod = pod_template(node.type, node.props)
        if pod is None:
            continue
        namespace = _namespace(node)
        account_name = dig(pod, "spec", "serviceAccountName") or "default"
        account = accounts.get((namespace, account_name))
        labels = dig(pod, "metadata", "labels")
        label = dig(labels, USE_LABEL) if isinstance(labels, dict) else None
        annotated = account is not None and dig(
            account.props, "metadata", "annotations", CLIENT_ID_ANNOTATION
        )
        if label is None and not annotated and not _uses_certless(node):
            continue  # not a workload-identity pod
        if label is UNKNOWN or labels is UNKNOWN:
            continue
        if label != "true":
            on_workload = dig(node.props, "metadata", "labels", USE_LABEL) == "true"
            where = (
                " (it is on the workload's own metadata, but the webhook reads the POD template's labels)"
                if on_workload and pod is not node.props
                else ""
            )
            found = "missing" if label is None else f"'{label}'"
            report(
                f"'{node.name}': pod label {USE_LABEL} is {found}; it must be the string \"true\" on the pod "
                f"template for the webhook to inject the token{where}.",
                node.urn,
            )
        if namespace in forbidden:
            report(
                f"'{node.name}' runs in namespace '{namespace}', where the workload identity webhook does "
                "not mutate pods.",
                node.urn,
            )
        if account is None:
            continue  # service account managed elsewhere
        annotation = dig(account.props, "metadata", "annotations", CLIENT_ID_ANNOTATION)
        if annotation is None:
            report(
                f"'{node.name}' uses service account '{account_name}', which has no {CLIENT_ID_ANNOTATION} "
                "annotation; the webhook needs it to set AZURE_CLIENT_ID.",
                node.urn,
            )


def _admin_credentials(args: StackValidationArgs, report: ReportViolation) -> None:
    for node in _stack.build(args.resources).nodes:
        if node.type != AKS_BINDING:
            continue
        # Registered by the binding: policy packs cannot see the credential invoke itself.
        mode = node.props.get("clusterCredentials", node.props.get("cluster_credentials"))
        if mode == "admin":
            report(
                f"'{node.name}' deploys to its cluster with the admin kubeconfig (aks.credentials: admin): "
                "a local account with cluster-admin rights and a long-lived client certificate that no Entra "
                "sign-in, Conditional Access or Azure RBAC governs, and that stops working once local "
                "accounts are disabled. Prefer an Entra-integrated cluster and aks.credentials azurecli, "
                "workloadidentity, msi or spn.",
                node.urn,
            )


POLICIES: list[Policy] = [
    StackValidationPolicy(
        name=WORKLOAD_IDENTITY,
        description=(
            'AKS workload identity: the pod template carries azure.workload.identity/use: "true", its '
            "service account carries the azure.workload.identity/client-id annotation (a GUID), and "
            "neither lives in kube-system."
        ),
        validate=_workload_identity,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(
            {
                "forbiddenNamespaces": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Namespaces the webhook ignores; default ['kube-system'].",
                }
            }
        ),
    ),
    StackValidationPolicy(
        name=ADMIN_CREDENTIALS,
        description=(
            "AKS workloads reach their cluster through Entra ID (aks.credentials user or a kubelogin mode), "
            "not through the local admin account (aks.credentials: admin)."
        ),
        validate=_admin_credentials,
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
]
