"""``containerApp.registry``: a private Azure Container Registry the app pulls its image from.

Container Apps pulls with the user-assigned identity named in ``configuration.registries``, and that
identity needs ``AcrPull`` on the registry. The role assignment's scope is the registry's resource ID,
which a login server alone does not give (the registry's resource group and subscription are not in
it), so both are asked for and checked against each other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stackconfig import rules as r
from stackconfig.errors import ConfigError
from stackconfig.model import ContainerAppSpec, WorkloadSpec

# Registry names are 5-50 letters and digits; the login server is that name in lower case plus the
# cloud's suffix.
LOGIN_SERVER = re.compile(r"^(?P<name>[a-z0-9]{5,50})\.(?P<suffix>azurecr\.(?:io|us|cn))$")
REGISTRY_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"/resourceGroups/[-\w.()]{1,90}/providers/Microsoft\.ContainerRegistry/registries/(?P<name>[A-Za-z0-9]{5,50})$",
    re.IGNORECASE,  # ARM IDs are case-insensitive
)
LOGIN_SERVER_EXPECTED = (
    "a registry login server: 5-50 lowercase letters and digits, then .azurecr.io (.azurecr.us in"
    " US Government, .azurecr.cn in China), like myregistry.azurecr.io"
)
REGISTRY_ID_EXPECTED = (
    "a container registry resource ID: /subscriptions/<guid>/resourceGroups/<rg>/providers/"
    "Microsoft.ContainerRegistry/registries/<name>"
)
SUFFIX_BY_CLOUD = {"AzurePublic": "azurecr.io", "AzureUSGovernment": "azurecr.us", "AzureChina": "azurecr.cn"}


def registry_fields(key: str, obj: Mapping[str, Any], image: str) -> tuple[str | None, str | None]:
    """The (login server, registry resource ID) of ``containerApp``, both or neither."""
    server_raw, rid_raw = obj.get("registry"), obj.get("registryResourceId")
    if server_raw is None and rid_raw is None:
        return None, None
    if server_raw is None:
        raise ConfigError(
            f"config {r.where(key, 'registry')}: missing (registryResourceId is set); expected the"
            " registry's login server, like myregistry.azurecr.io"
        )
    server = r.match(
        r.where(key, "registry"),
        server_raw,
        LOGIN_SERVER,
        LOGIN_SERVER_EXPECTED,
    )
    if rid_raw is None:
        raise ConfigError(
            f"config {r.where(key, 'registryResourceId')}: missing; expected the resource ID of {server}"
            " (/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.ContainerRegistry/registries/"
            f"{server.split('.')[0]}): the identity's AcrPull role is assigned on it"
        )
    rid = r.match(
        r.where(key, "registryResourceId"),
        rid_raw,
        REGISTRY_ID,
        REGISTRY_ID_EXPECTED,
    )
    found = REGISTRY_ID.fullmatch(rid)
    assert found is not None
    if found.group("name").lower() != server.split(".")[0]:
        raise ConfigError(
            f"config {r.where(key, 'registryResourceId')}: names registry {found.group('name')!r}, but"
            f" registry is {server}; expected the resource ID of registry {server.split('.')[0]!r}"
        )
    if not image.startswith(f"{server}/"):
        raise r.fail(
            r.where(key, "image"),
            image,
            f"an image from {server} (like {server}/app:1.0): the registry credentials serve that host only",
        )
    return server, rid


def check_registries(workloads: Mapping[str, WorkloadSpec], cloud: str, workloads_key: str) -> None:
    """What needs the whole stack: the cloud's registry suffix, an identity that exists before the app, and
    AcrPull declared once (``registry`` already grants it, so an ``access`` entry for it would be a
    second assignment of the same role, principal and scope)."""
    pulled = {
        (w.identity, w.container_app.registry_resource_id.lower()): w.name
        for w in workloads.values()
        if w.container_app is not None and w.container_app.registry_resource_id is not None
    }
    for w in workloads.values():
        for index, grant in enumerate(w.access):
            by = pulled.get((w.identity, grant.scope.lower()))
            if grant.principal == "identity" and grant.role_name == "AcrPull" and by is not None:
                raise r.fail(
                    f"{r.where(workloads_key, w.name, 'access')}[{index}]",
                    f"AcrPull on {grant.scope}"[:80],
                    f"no AcrPull on a registry already in containerApp.registry (workload {by!r} grants it)",
                )
    for w in workloads.values():
        c: ContainerAppSpec | None = w.container_app
        if c is None or c.registry is None:
            continue
        key = r.where(workloads_key, w.name, "containerApp", "registry")
        suffix = SUFFIX_BY_CLOUD[cloud]
        if not c.registry.endswith(f".{suffix}"):
            raise r.fail(key, c.registry, f"a login server ending in .{suffix} (certless:cloud is {cloud})")
        if w.identity_type != "UserAssigned":
            # The role must exist before the first revision pulls; a system-assigned principal exists
            # only once the app does, so that first pull would fail.
            raise r.fail(
                r.where(workloads_key, w.name, "identityType"),
                w.identity_type,
                "UserAssigned for a private registry (its AcrPull role must exist before the app pulls)",
            )
