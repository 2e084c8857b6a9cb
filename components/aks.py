"""AksWorkloadBinding: a workload-identity ServiceAccount and Deployment on an existing AKS cluster."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
from pulumi_azure_native import authorization, containerservice
from pulumi_kubernetes.apps.v1 import Deployment
from pulumi_kubernetes.core.v1 import Namespace, ServiceAccount
from pulumi_kubernetes.provider import Provider

from components.aks_kubeconfig import ClusterCredentials, provider_kubeconfig
from components.azure_ad import (
    FROM_FILE,
    FROM_MANAGED_IDENTITY,
    AzureAdTarget,
    azure_ad_env,
    env_output,
    mapped,
    with_owner_settings,
)
from components.errors import EnvironmentMismatchError
from components.federated_credential import FederatedCredential, FederatedCredentialArgs
from components.handles import AppOutputs, IdentityOutputs

AksMode = Literal["via-identity", "direct"]
USE_LABEL = "azure.workload.identity/use"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
TENANT_ID_ANNOTATION = "azure.workload.identity/tenant-id"


def service_account_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


@dataclass(frozen=True)
class AksWorkloadBindingArgs:
    cluster_resource_group: str
    cluster_name: str
    namespace: str
    service_account: str
    deployment_name: str
    image: str
    mode: AksMode
    azure_ad: AzureAdTarget
    app: AppOutputs
    audience: str
    """The cloud's token-exchange audience: the audience of the projected service-account token."""
    credential_name: str
    """Name of the FIC trusting the cluster (on the identity in via-identity mode, on the app in direct)."""
    identity: IdentityOutputs | None = None
    """Required in via-identity mode, unused in direct mode."""
    create_namespace: bool = True
    replicas: int = 1
    container_port: int | None = None
    expected_issuer_url: str | None = None
    """If set, the cluster's OIDC issuer must equal it (pins plan-time knowledge to the real cluster)."""
    env: Mapping[str, str] = field(default_factory=dict)
    credentials: ClusterCredentials = "user"
    """How the kubernetes provider authenticates: the user kubeconfig as is, converted to a kubelogin
    login mode, or the admin (local account) kubeconfig (components.aks_kubeconfig)."""
    chain_credentials: Sequence[pulumi.Resource] = ()
    """FICs declared elsewhere that the pods' token exchanges need (e.g. the app trusting the identity)."""


def _issuer_url(cluster: Any, args: AksWorkloadBindingArgs) -> str:
    where = f"AKS cluster {args.cluster_name!r} in resource group {args.cluster_resource_group!r}"
    profile = cluster.oidc_issuer_profile
    if profile is None or not profile.enabled or not profile.issuer_url:
        raise EnvironmentMismatchError(
            f"{where} has no OIDC issuer: expected oidcIssuerProfile.enabled=true"
            " (az aks update --enable-oidc-issuer)"
        )
    security = cluster.security_profile
    workload_identity = security.workload_identity if security is not None else None
    if workload_identity is None or not workload_identity.enabled:
        raise EnvironmentMismatchError(
            f"{where} does not have workload identity enabled: expected"
            " securityProfile.workloadIdentity.enabled=true (az aks update --enable-workload-identity)"
        )
    issuer = str(profile.issuer_url)
    if args.expected_issuer_url is not None and issuer != args.expected_issuer_url:
        raise EnvironmentMismatchError(
            f"{where} has OIDC issuer {issuer!r}, but the configuration pins {args.expected_issuer_url!r}"
        )
    return issuer


def _kubeconfig(creds: Any, cluster_name: str, kind: str) -> str:
    kubeconfigs = creds.kubeconfigs or []
    if not kubeconfigs:
        raise EnvironmentMismatchError(f"AKS cluster {cluster_name!r} returned no {kind} kubeconfig")
    return base64.b64decode(kubeconfigs[0].value).decode()


def _provider_kubeconfig(name: str, args: AksWorkloadBindingArgs, opts: pulumi.InvokeOutputOptions) -> Any:
    """The kubeconfig for the kubernetes provider, as ``args.credentials`` asks (a secret)."""
    cluster = dict(resource_group_name=args.cluster_resource_group, resource_name=args.cluster_name)
    where = f"workload {name!r}: AKS cluster {args.cluster_name!r} in {args.cluster_resource_group!r}"
    creds: pulumi.Output[Any]
    if args.credentials == "admin":
        creds = containerservice.list_managed_cluster_admin_credentials_output(**cluster, opts=opts)
        kind = "admin"
    else:
        # 'exec', not the legacy 'azure' auth-provider format that kubectl removed in Kubernetes 1.26.
        creds = containerservice.list_managed_cluster_user_credentials_output(
            **cluster, format="exec", opts=opts
        )
        kind = "user"
    client_id: pulumi.Output[str | None] = pulumi.Output.from_input(None)
    if args.credentials in ("spn", "msi"):
        # kubelogin signs in as the deployer: the identity the azure-native provider authenticates as.
        client_id = authorization.get_client_config_output(opts=opts).client_id
    kubeconfig = pulumi.Output.all(creds, client_id).apply(
        lambda v: provider_kubeconfig(
            _kubeconfig(v[0], args.cluster_name, kind),
            args.credentials,
            where=where,
            tenant_id=str(args.azure_ad.tenant_id),
            client_id=v[1],
        )
    )
    return pulumi.Output.secret(kubeconfig)


class AksWorkloadBinding(pulumi.ComponentResource):
    """Outputs ``oidc_issuer_url``, ``namespace``, ``service_account`` and ``deployment_name``."""

    def __init__(self, name: str, args: AksWorkloadBindingArgs, opts: pulumi.ResourceOptions | None = None):
        if args.mode == "via-identity" and args.identity is None:
            raise ValueError(f"AksWorkloadBinding {name!r}: via-identity mode needs a user-assigned identity")
        super().__init__("certless:compute:AksWorkloadBinding", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke_opts = pulumi.InvokeOutputOptions(parent=self)
        cluster = containerservice.get_managed_cluster_output(
            resource_group_name=args.cluster_resource_group, resource_name=args.cluster_name, opts=invoke_opts
        )
        self.oidc_issuer_url: pulumi.Output[str] = cluster.apply(lambda c: _issuer_url(c, args))
        provider = Provider(name, kubeconfig=_provider_kubeconfig(name, args, invoke_opts), opts=child)
        k8s = pulumi.ResourceOptions(parent=self, provider=provider)

        subject = service_account_subject(args.namespace, args.service_account)
        if args.mode == "via-identity":
            assert args.identity is not None
            trust = FederatedCredentialArgs(
                credential_name=args.credential_name,
                issuer=self.oidc_issuer_url,
                subject=subject,
                audience=args.audience,
                identity=args.identity,
                description=f"AKS {args.cluster_name} {args.namespace}/{args.service_account}",
            )
            sa_client_id: pulumi.Input[str] = args.identity.client_id
            self.env = azure_ad_env(args.azure_ad, FROM_MANAGED_IDENTITY, args.identity.client_id)
        else:
            trust = FederatedCredentialArgs(
                credential_name=args.credential_name,
                issuer=self.oidc_issuer_url,
                subject=subject,
                audience=args.audience,
                app=args.app,
                description=f"AKS {args.cluster_name} {args.namespace}/{args.service_account}",
            )
            sa_client_id = args.app.client_id
            # The webhook projects the token to AZURE_FEDERATED_TOKEN_FILE; the file source reads it.
            self.env = azure_ad_env(args.azure_ad, FROM_FILE, None)
        self.cluster_credential = FederatedCredential(f"{name}-cluster", trust, opts=child)

        namespace_dep: list[pulumi.Resource] = []
        if args.create_namespace:
            namespace_dep.append(Namespace(name, metadata={"name": args.namespace}, opts=k8s))
        service_account = ServiceAccount(
            name,
            metadata={
                "name": args.service_account,
                "namespace": args.namespace,
                "annotations": {
                    CLIENT_ID_ANNOTATION: sa_client_id,
                    TENANT_ID_ANNOTATION: args.azure_ad.tenant_id,
                },
            },
            opts=pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=namespace_dep)),
        )
        selector = {"app.kubernetes.io/name": args.deployment_name}
        container: dict[str, Any] = {
            "name": args.deployment_name,
            "image": args.image,
            "env": mapped(
                with_owner_settings(self.env, args.azure_ad, sorted(args.env.items())),
                lambda k, v: {"name": k, "value": v},
            ),
        }
        if args.container_port is not None:
            container["ports"] = [{"containerPort": args.container_port}]
        spec: Any = {
            "replicas": args.replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**selector, USE_LABEL: "true"}},
                "spec": {"serviceAccountName": args.service_account, "containers": [container]},
            },
        }
        metadata: Any = {"name": args.deployment_name, "namespace": args.namespace, "labels": selector}
        deployment = Deployment(
            name,
            metadata=metadata,
            spec=spec,
            # Pods start only once every trust of their chain exists, so their first token exchange can
            # succeed: the cluster trust declared here and those declared elsewhere.
            opts=pulumi.ResourceOptions.merge(
                k8s,
                pulumi.ResourceOptions(
                    depends_on=[
                        service_account,
                        self.cluster_credential.resource,
                        *args.chain_credentials,
                    ]
                ),
            ),
        )
        self.provider = provider
        self.service_account = service_account
        self.deployment = deployment
        self.namespace = args.namespace
        self.service_account_name = args.service_account
        self.deployment_name = args.deployment_name
        self.azure_ad_env = env_output(self.env, args.azure_ad)
        self.register_outputs(
            {
                "oidc_issuer_url": self.oidc_issuer_url,
                "namespace": args.namespace,
                "service_account": args.service_account,
                "deployment_name": args.deployment_name,
                # Policy packs cannot see invokes: the credential mode is visible here (admin is flagged).
                "cluster_credentials": args.credentials,
            }
        )
