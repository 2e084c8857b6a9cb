"""certless: certificateless Entra authentication for apps on Azure.

The program's story: read and validate the stack configuration (a bad value stops the program before
any resource is registered), declare the identity layer (owned here, or referenced from its owning
stack), the workloads on it and their grants, then export the outputs (docs/plan-schema.md,
docs/configuration.md). The steps live in ``program/``, the resources in ``components/``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi

from components import CertificatelessWorkload
from components.grants import RegistryPulls
from program.colour_sign_in import redirect_check
from program.delegations import declare_delegations
from program.grants import ResolvedApi, declare_access, resolved_apis
from program.layer import SHARED_OUTPUT, declare_layer
from program.workloads import workload_args, workload_output
from stackconfig import ConfigError, StackConfig, load, read_pulumi_config


def declare(config: StackConfig, apis: dict[str, ResolvedApi]) -> None:
    layer = declare_layer(config)
    workloads: dict[str, Any] = {}
    registry_pulls = RegistryPulls(owns_identity_layer=config.owns_identity_layer)
    for name, w in config.workloads.items():
        identity = layer.identities[w.identity] if w.identity is not None and w.uses_identity_trust else None
        args = workload_args(config, w, layer.apps[w.app], identity)
        trust = layer.trusts.get((w.app, w.identity or "")) if w.uses_identity_trust else None
        if trust is not None:
            args = dataclasses.replace(args, chain_credentials=[trust])
        if args.container_app is not None and args.container_app.registry is not None:
            assert w.identity is not None and identity is not None  # checked with the config
            grant = registry_pulls.grant(w.identity, identity, args.container_app.registry)
            args = dataclasses.replace(
                args,
                container_app=dataclasses.replace(
                    args.container_app, registry_pull_grant=grant, declare_registry_pull=False
                ),
            )
        workload = CertificatelessWorkload(name, args)
        workloads[name] = workload_output(config, w, workload)
        if w.access or w.api_permissions:
            workloads[name] = pulumi.Output.all(
                workloads[name],
                declare_access(config, name, w, apps=layer.apps, apis=apis, workload=workload),
            ).apply(lambda v: {**v[0], "access": v[1]})
        redirects = (
            redirect_check(config, w, layer.sign_in_records[w.app])
            if w.app in layer.sign_in_records
            else None
        )
        if redirects is not None:
            workloads[name] = pulumi.Output.all(workloads[name], redirects).apply(
                lambda v: {**v[0], "redirectUris": v[1]}
            )
        if w.delegated_permissions:
            workloads[name] = pulumi.Output.all(
                workloads[name], declare_delegations(config, name, w, apps=layer.apps, apis=apis)
            ).apply(lambda v: {**v[0], "delegatedPermissions": v[1]})
    pulumi.export("tenantId", config.tenant_id)
    pulumi.export("cloud", config.cloud.name)
    pulumi.export("instance", config.cloud.instance)
    pulumi.export("tokenExchangeAudience", config.cloud.token_exchange_audience)
    pulumi.export("workloads", workloads)
    if layer.shared_export is not None:
        pulumi.export(SHARED_OUTPUT, layer.shared_export)


def validated_config() -> tuple[StackConfig, dict[str, ResolvedApi]]:
    raw, secret_keys = read_pulumi_config()
    try:
        config = load(raw, secret_keys, pulumi.get_stack())
        return config, resolved_apis(config)
    except ConfigError as err:
        # RunError: the engine prints the message alone, without a traceback, and the run fails.
        raise pulumi.RunError(str(err)) from None


# Validation runs first and completely: no resource is registered for a bad configuration.
declare(*validated_config())
