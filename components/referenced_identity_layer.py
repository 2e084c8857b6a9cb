"""ReferencedIdentityLayer: another stack's identity layer, read through its ``sharedIdentity`` output.

The other colour of a blue-green pair declares no identity, app or FIC of its own: it reads what the
owning stack's IdentityLayer exports (or takes the IDs given explicitly) and checks it once, so a gap
in the owner's outputs is one message naming every missing value.

The StackReference stays at the stack's root: it is a read, and a read carries no aliases
(ReadResourceRequest has none), so parenting it here would give it a new URN in stacks that hold it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.handles import AppOutputs, IdentityOutputs
from components.identity import resource_group_of
from stackconfig.rules import GUID, IDENTITY_ID, shown

SHARED_OUTPUT = "sharedIdentity"
SHARED_IDENTITY_FIELDS = ("resourceId", "clientId", "principalId")
SHARED_APP_FIELDS = ("clientId", "objectId")
_GUID_OUTPUTS = frozenset({"clientId", "principalId", "objectId"})
SIGN_IN = "signIn"
EXPLICIT_OWNER = "certless:identityOwner"
"""How messages name an owner given by explicit IDs (its records come from this stack's config)."""
SIGN_IN_FIELDS = (
    "web",
    "callbackPath",
    "redirectUris",
    "idTokens",
    "api",
    "requestedAccessTokenVersion",
    "scopes",
)


@dataclass(frozen=True)
class IdentityRef:
    resource_id: str
    client_id: str
    principal_id: str


@dataclass(frozen=True)
class AppRef:
    client_id: str
    object_id: str
    sign_in: Mapping[str, Any] | None = None
    """The app's ``signIn`` record as an owner stack would export it (the config describes it)."""


@dataclass(frozen=True)
class ReferencedIdentityLayerArgs:
    tenant_id: str
    owner_stack: str | None = None
    """``org/project/stack`` of the owner; None: the layer is given by ``identities`` and ``apps``."""
    identity_keys: Sequence[str] = ()
    """Identities the workloads name: each must be in the owner's export."""
    app_keys: Sequence[str] = ()
    identities: Mapping[str, IdentityRef] = field(default_factory=dict)
    apps: Mapping[str, AppRef] = field(default_factory=dict)


class ReferencedIdentityLayer(pulumi.ComponentResource):
    """Outputs ``identities`` and ``apps`` as the owner holds them; nothing is declared here."""

    def __init__(
        self, name: str, args: ReferencedIdentityLayerArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("certless:identity:ReferencedIdentityLayer", name, None, opts)
        if args.owner_stack is None:
            self.identities = {
                key: _identity_from_id(ref, args.tenant_id) for key, ref in args.identities.items()
            }
            self.apps = {
                key: AppOutputs(
                    pulumi.Output.from_input(a.client_id),
                    pulumi.Output.from_input(a.object_id),
                    sign_in=pulumi.Output.from_input(
                        owner_sign_in(EXPLICIT_OWNER, key, dict(a.sign_in), a.client_id)
                    )
                    if a.sign_in is not None
                    else None,
                )
                for key, a in args.apps.items()
            }
        self.sign_in_records: dict[str, pulumi.Output[Any]] = {}
        """The owner's ``signIn`` record of each app (None: the owner exports none; by IDs, the apps
        whose config describes it)."""
        if args.owner_stack is None:
            self.sign_in_records = {
                key: pulumi.Output.from_input(dict(a.sign_in))
                for key, a in args.apps.items()
                if a.sign_in is not None
            }
        if args.owner_stack is not None:
            self.identities, self.apps, self.sign_in_records = _from_stack(args, args.owner_stack)
        # Names only: the values come through the owner's output, whose check may fail the run.
        self.register_outputs(
            {"ownerStack": args.owner_stack, "identities": sorted(self.identities), "apps": sorted(self.apps)}
        )


def _is_guid(value: Any) -> bool:
    return isinstance(value, str) and GUID.fullmatch(value) is not None


def _lookup(shared: Any, path: tuple[str, ...]) -> Any:
    node = shared
    for part in path:
        if not isinstance(node, dict) or node.get(part) is None:
            return None
        node = node[part]
    return node


def _needed_paths(identity_keys: Sequence[str], app_keys: Sequence[str]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = [("tenantId",)]
    paths += [("identities", k, f) for k in sorted(identity_keys) for f in SHARED_IDENTITY_FIELDS]
    paths += [("apps", k, f) for k in sorted(app_keys) for f in SHARED_APP_FIELDS]
    return paths


def _from_stack(
    args: ReferencedIdentityLayerArgs, stack: str
) -> tuple[dict[str, IdentityOutputs], dict[str, AppOutputs], dict[str, pulumi.Output[Any]]]:
    ref = pulumi.StackReference(stack)  # at the root: see the module docstring
    needed = _needed_paths(args.identity_keys, args.app_keys)

    def checked(shared: Any) -> Any:
        # Everything is checked here, once, so a gap gives one message naming every missing output.
        if shared is None:
            raise pulumi.RunError(
                f"stack {stack!r} has no output {SHARED_OUTPUT!r}; expected the stack that owns the identity"
                " layer (certless:identities and certless:apps) to be deployed first"
            )
        tenant = _lookup(shared, ("tenantId",))
        if tenant is not None and str(tenant).lower() != args.tenant_id:
            raise pulumi.RunError(
                f"stack {stack!r} exports tenant {tenant!r}, but certless:tenantId is {args.tenant_id!r};"
                " expected the same tenant"
            )
        missing = [".".join((SHARED_OUTPUT, *p)) for p in needed if _lookup(shared, p) is None]
        if missing:
            raise pulumi.RunError(
                f"stack {stack!r} does not export {', '.join(missing)}; expected the owning stack to hold"
                " every identity and app this stack's workloads name (deploy the owner with them first)"
            )
        for key in sorted(args.identity_keys):
            rid = _lookup(shared, ("identities", key, "resourceId"))
            if not isinstance(rid, str) or IDENTITY_ID.match(rid) is None:
                raise pulumi.RunError(
                    f"stack {stack!r} exports {SHARED_OUTPUT}.identities.{key}.resourceId = {shown(rid)};"
                    " expected /subscriptions/<guid>/resourceGroups/<rg>/providers/"
                    "Microsoft.ManagedIdentity/userAssignedIdentities/<name>"
                )
        # An ID must arrive as GUID text: a number (12345, which the engine hands over as 12345.0)
        # would otherwise become a FIC subject or role assignment principal that matches nothing.
        for path in needed:
            if path[-1] in _GUID_OUTPUTS and not _is_guid(_lookup(shared, path)):
                value = _lookup(shared, path)
                raise pulumi.RunError(
                    f"stack {stack!r} exports {'.'.join((SHARED_OUTPUT, *path))} = {shown(value)}; expected"
                    " a GUID like 00000000-0000-0000-0000-000000000000"
                )
        return shared

    shared = ref.get_output(SHARED_OUTPUT).apply(checked)

    def value(path: tuple[str, ...]) -> pulumi.Output[str]:
        # Entra compares FIC subjects case-sensitively and emits IDs in lower case.
        if path[-1] in _GUID_OUTPUTS:
            return shared.apply(lambda s: str(_lookup(s, path)).lower())
        return shared.apply(lambda s: str(_lookup(s, path)))

    identities = {}
    for key in sorted(args.identity_keys):
        resource_id = value(("identities", key, "resourceId"))
        identities[key] = IdentityOutputs(
            client_id=value(("identities", key, "clientId")),
            principal_id=value(("identities", key, "principalId")),
            tenant_id=pulumi.Output.from_input(args.tenant_id),
            resource_id=resource_id,
            name=resource_id.apply(lambda rid: rid.rsplit("/", 1)[-1]),
            resource_group_name=resource_id.apply(resource_group_of),
        )
    apps = {}
    records: dict[str, pulumi.Output[Any]] = {}
    for key in sorted(args.app_keys):
        records[key] = shared.apply(functools.partial(_lookup_path, ("apps", key, SIGN_IN)))
        client_id = value(("apps", key, "clientId"))
        sign_in: pulumi.Output[dict[str, str]] = pulumi.Output.all(shared, client_id).apply(
            functools.partial(_sign_in_of, stack, key)
        )
        apps[key] = AppOutputs(client_id, value(("apps", key, "objectId")), sign_in=sign_in)
    return identities, apps, records


def _lookup_path(path: tuple[str, ...], shared: Any) -> Any:
    return _lookup(shared, path)


def _sign_in_of(stack: str, app: str, values: list[Any]) -> dict[str, str]:
    return owner_sign_in(stack, app, _lookup(values[0], ("apps", app, SIGN_IN)), values[1])


def owner_sign_in(stack: str, app: str, record: Any, client_id: str) -> dict[str, str]:
    """The AzureAd settings the owner's record of the app implies; none (and a warning) for an owner
    deployed before it exported the record; one error naming the output when a field is missing."""
    if record is None:
        pulumi.log.warn(
            f"stack {stack!r} exports no {SHARED_OUTPUT}.apps.{app}.{SIGN_IN} (deployed before certless"
            " exported it): AzureAd__CallbackPath, AzureAd__Audience and AzureAd__Scopes are not set for"
            f" app {app!r}; run `pulumi up` on {stack!r} to export them"
        )
        return {}
    where = f"{SHARED_OUTPUT}.apps.{app}.{SIGN_IN}"
    if not isinstance(record, dict):
        raise pulumi.RunError(f"stack {stack!r} exports {where} = {shown(record)}; expected an object")
    missing = [f for f in SIGN_IN_FIELDS if f not in record]
    if missing:
        raise pulumi.RunError(
            f"stack {stack!r} does not export {', '.join(f'{where}.{f}' for f in missing)}; expected every"
            " field of the record (deploy the owner with this version of certless first)"
        )
    out: dict[str, str] = {}
    if record["web"] is True:
        path = record["callbackPath"]
        if not isinstance(path, str) or not path.startswith("/"):
            raise pulumi.RunError(
                f"stack {stack!r} exports {where}.callbackPath = {shown(path)}; expected a path like"
                " /signin-oidc"
            )
        out["AzureAd__CallbackPath"] = path
    if record["api"] is True:
        version = record["requestedAccessTokenVersion"]
        if isinstance(version, bool) or version not in (1, 2):
            raise pulumi.RunError(
                f"stack {stack!r} exports {where}.requestedAccessTokenVersion = {shown(version)}; expected 1"
                " or 2"
            )
        out["AzureAd__Audience"] = client_id if int(version) == 2 else f"api://{client_id}"
        scopes = record["scopes"]
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise pulumi.RunError(
                f"stack {stack!r} exports {where}.scopes = {shown(scopes)}; expected a list of scope values"
            )
        if scopes:
            out["AzureAd__Scopes"] = " ".join(scopes)
    return out


def _identity_from_id(ref: IdentityRef, tenant_id: str) -> IdentityOutputs:
    return IdentityOutputs(
        client_id=pulumi.Output.from_input(ref.client_id),
        principal_id=pulumi.Output.from_input(ref.principal_id),
        tenant_id=pulumi.Output.from_input(tenant_id),
        resource_id=pulumi.Output.from_input(ref.resource_id),
        name=pulumi.Output.from_input(ref.resource_id.rsplit("/", 1)[-1]),
        resource_group_name=pulumi.Output.from_input(resource_group_of(ref.resource_id)),
    )
