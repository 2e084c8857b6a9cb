"""Each workload's component Args from its config, and its record in the ``workloads`` stack output."""

from __future__ import annotations

from typing import Any

import pulumi

from components import (
    AksOptions,
    AksWorkloadBinding,
    AppOutputs,
    AppServiceOptions,
    CertificatelessWorkload,
    CertificatelessWorkloadArgs,
    ContainerAppOptions,
    FunctionAppBinding,
    FunctionAppOptions,
    IdentityOutputs,
    VirtualMachineBinding,
    VmImage,
    VmOptions,
)
from components.easy_auth import FIC_OVERRIDE_SETTING, EasyAuth
from components.registry import RegistryPull
from stackconfig import StackConfig, WorkloadSpec, identity_trust_fic_name
from stackconfig.model import EasyAuthSpec


def workload_args(
    config: StackConfig, w: WorkloadSpec, app: AppOutputs, identity: IdentityOutputs | None
) -> CertificatelessWorkloadArgs:
    app_service = container_app = aks = function_app = vm = None
    if w.vm is not None:
        v = w.vm
        vm = VmOptions(
            resource_group_name=w.resource_group_name,
            vm_name=v.name,
            command=v.command,
            admin_username=v.admin_username,
            ssh_public_key=v.ssh_public_key,
            mode=v.mode,
            instances=v.instances,
            size=v.size,
            image=VmImage(*v.image),
            service_user=v.service_user,
            subnet_id=v.subnet_id,
            location=config.location,
            env=v.env,
        )
    elif w.function_app is not None:
        f = w.function_app
        function_app = FunctionAppOptions(
            resource_group_name=w.resource_group_name,
            plan_name=f.plan_name,
            app_name=f.name,
            storage_account_name=f.storage_account_name,
            storage_account_id=f.storage_account_id,
            deployment_container=f.deployment_container,
            location=config.location,
            sku=f.sku,
            runtime_version=f.runtime_version,
            instance_memory_mb=f.instance_memory_mb,
            maximum_instance_count=f.maximum_instance_count,
            app_settings=f.app_settings,
            authentication=easy_auth(f.authentication),
        )
    elif w.app_service is not None:
        s = w.app_service
        app_service = AppServiceOptions(
            resource_group_name=w.resource_group_name,
            plan_name=s.plan_name,
            app_name=s.name,
            location=config.location,
            sku=s.sku,
            linux_fx_version=s.linux_fx_version,
            app_settings=s.app_settings,
            authentication=easy_auth(s.authentication),
        )
    elif w.container_app is not None:
        c = w.container_app
        container_app = ContainerAppOptions(
            resource_group_name=w.resource_group_name,
            app_name=c.name,
            image=c.image,
            environment_name=c.environment_name,
            environment_id=c.environment_id,
            location=config.location,
            target_port=c.target_port,
            env=c.env,
            registry=RegistryPull(c.registry, c.registry_resource_id)
            if c.registry is not None and c.registry_resource_id is not None
            else None,
        )
    else:
        k = w.aks
        assert k is not None and w.cluster_fic_name is not None
        aks = AksOptions(
            cluster_resource_group=k.cluster_resource_group,
            cluster_name=k.cluster_name,
            namespace=k.namespace,
            service_account=k.service_account,
            deployment_name=k.deployment_name,
            image=k.image,
            mode=k.mode,
            credential_name=w.cluster_fic_name,
            create_namespace=k.create_namespace,
            replicas=k.replicas,
            container_port=k.container_port,
            expected_issuer_url=k.issuer_url,
            env=k.env,
            credentials=k.credentials,
        )
    return CertificatelessWorkloadArgs(
        kind=w.kind,
        cloud=config.cloud,
        tenant_id=config.tenant_id,
        app=app,
        identity=identity,
        app_service=app_service,
        container_app=container_app,
        aks=aks,
        function_app=function_app,
        vm=vm,
        identity_trust_name=None,  # declared once per app and identity, by the identity layer
        system_trust_name=w.system_fic_name,
        **sign_in_settings(config, w.app),
    )


def easy_auth(spec: EasyAuthSpec | None) -> EasyAuth | None:
    if spec is None:
        return None
    return EasyAuth(
        require_authentication=spec.require_authentication,
        unauthenticated_client_action=spec.unauthenticated_client_action,
        allowed_audiences=spec.allowed_audiences,
        allowed_applications=spec.allowed_applications,
        excluded_paths=spec.excluded_paths,
        token_store=spec.token_store,
        login_parameters=spec.login_parameters,
    )


def sign_in_settings(config: StackConfig, app_key: str) -> dict[str, Any]:
    """The web app's CallbackPath and the web API's Audience and Scopes, from the app this stack owns."""
    spec = config.apps.get(app_key)
    if spec is None:
        return {}
    return {
        "callback_path": spec.web.callback_path if spec.web is not None else None,
        "api_token_version": spec.api.requested_access_token_version if spec.api is not None else None,
        "api_scopes": [s.value for s in spec.api.scopes] if spec.api is not None else [],
    }


def workload_output(
    config: StackConfig, w: WorkloadSpec, workload: CertificatelessWorkload
) -> pulumi.Output[Any]:
    credentials: list[pulumi.Output[dict[str, str]]] = []
    if w.uses_identity_trust:
        assert w.identity is not None
        credentials.append(
            workload.identity_principal_id.apply(
                lambda principal: {
                    "name": identity_trust_fic_name(w.identity or ""),
                    "on": "app",
                    "issuer": config.cloud.issuer(config.tenant_id),
                    "subject": principal or "",
                    "audience": config.cloud.token_exchange_audience,
                }
            )
        )
    credentials.extend(c.describe() for c in workload.credentials)
    aks: Any = None
    if w.aks is not None and isinstance(workload.compute, AksWorkloadBinding):
        aks = {
            "clusterName": w.aks.cluster_name,
            "namespace": w.aks.namespace,
            "serviceAccount": w.aks.service_account,
            "oidcIssuerUrl": workload.compute.oidc_issuer_url,
            "credentials": w.aks.credentials,
        }
    record: dict[str, Any] = {
        "kind": w.kind,
        "aksMode": w.aks.mode if w.aks is not None else None,
        "identityType": workload.identity_type,
        "tenantId": config.tenant_id,
        "appClientId": workload.app.client_id,
        "appObjectId": workload.app.object_id,
        "identityClientId": workload.identity_client_id,
        "identityPrincipalId": workload.identity_principal_id,
        "identityResourceId": workload.identity_resource_id,
        "federatedCredentials": pulumi.Output.all(*credentials),
        "azureAdEnv": workload.azure_ad_env,
        "appsettingsJson": workload.appsettings_json,
    }
    if aks is not None:
        record["aks"] = aks
    if w.easy_auth is not None:
        # What the platform's sign-in uses: no secret, the identity's client ID in the override setting.
        record["authentication"] = {
            "callbackUri": w.easy_auth.callback_uri,
            "issuer": config.cloud.issuer(config.tenant_id),
            "clientSecretSettingName": FIC_OVERRIDE_SETTING,
        }
    if isinstance(workload.compute, FunctionAppBinding):
        # Nothing secret: the host storage connection is identity-based (URIs, credential, client ID).
        record["hostStorageEnv"] = workload.compute.host_storage_env
    if isinstance(workload.compute, VirtualMachineBinding):
        # The cloud-init document the VM boots with (nothing secret: IDs, instance, the command).
        record["cloudInit"] = workload.compute.cloud_init
    return pulumi.Output.from_input(record)
