"""The AzureAd settings the runtime module reads, in .NET's env var form (Microsoft.Identity.Web names)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi

FROM_MANAGED_IDENTITY = "SignedAssertionFromManagedIdentity"
FROM_FILE = "SignedAssertionFilePath"
T = TypeVar("T")


@dataclass(frozen=True)
class AzureAdTarget:
    """Who the app signs in as: the authority instance, the tenant and the app registration's client ID."""

    instance: str
    tenant_id: str
    client_id: pulumi.Input[str]
    token_exchange_url: str | None = None
    """The cloud's token-exchange audience outside the public cloud. Microsoft.Identity.Web asks for
    ``api://AzureADTokenExchange`` unless ``TokenExchangeUrl`` says otherwise, in every cloud."""
    callback_path: str | None = None
    """A web app's sign-in response path (``CallbackPath``): the path of one of its redirect URIs."""
    audience: pulumi.Input[str] | None = None
    """A web API's accepted token audience (``Audience``): its client ID for v2 tokens."""
    scopes: str | None = None
    """A web API's scopes, space-separated (``Scopes``, read by Microsoft.Identity.Web's RequiredScope)."""
    owner_settings: pulumi.Output[dict[str, str]] | None = None
    """Sign-in settings of an app another stack owns, known only from that stack's outputs: which of
    CallbackPath, Audience and Scopes exist is known only then, so they come as one Output."""


def azure_ad_env(
    target: AzureAdTarget, source_type: str, managed_identity_client_id: pulumi.Input[str] | None
) -> list[tuple[str, pulumi.Input[str]]]:
    """Static names with possibly-unknown values, so compute resources can embed them as plain inputs.

    ``ManagedIdentityClientId`` is set only for a user-assigned identity; system-assigned and the
    file-based source (AKS direct) have none.
    """
    env: list[tuple[str, pulumi.Input[str]]] = [
        ("AzureAd__Instance", target.instance),
        ("AzureAd__TenantId", target.tenant_id),
        ("AzureAd__ClientId", target.client_id),
    ]
    if target.callback_path is not None:
        env.append(("AzureAd__CallbackPath", target.callback_path))
    if target.audience is not None:
        env.append(("AzureAd__Audience", target.audience))
    if target.scopes:
        env.append(("AzureAd__Scopes", target.scopes))
    env.append(("AzureAd__ClientCredentials__0__SourceType", source_type))
    if managed_identity_client_id is not None:
        env.append(("AzureAd__ClientCredentials__0__ManagedIdentityClientId", managed_identity_client_id))
    if target.token_exchange_url is not None:
        env.append(("AzureAd__ClientCredentials__0__TokenExchangeUrl", target.token_exchange_url))
    return env


Env = list[tuple[str, pulumi.Input[str]]]


def with_owner_settings(
    env: Env, target: AzureAdTarget, tail: Env | None = None
) -> Env | pulumi.Output[list[tuple[str, str]]]:
    """``env`` (then ``tail``, the compute's own settings) with the owner's sign-in settings after
    ``AzureAd__ClientId``. A plain list unless the target has owner settings: then an Output of one."""
    rest = list(tail or [])
    if target.owner_settings is None:
        return [*env, *rest]
    at = next((i + 1 for i, (n, _) in enumerate(env) if n == "AzureAd__ClientId"), len(env))

    def merged(values: list[str], owner: dict[str, str], tail_values: list[str]) -> list[tuple[str, str]]:
        resolved = [(n, v) for (n, _), v in zip(env, values, strict=True)]
        return [
            *resolved[:at],
            *sorted(owner.items()),
            *resolved[at:],
            *((n, v) for (n, _), v in zip(rest, tail_values, strict=True)),
        ]

    return pulumi.Output.all(
        pulumi.Output.all(*(v for _, v in env)),
        target.owner_settings,
        pulumi.Output.all(*(v for _, v in rest)),
    ).apply(lambda v: merged(v[0], v[1], v[2]))


def mapped(pairs: Env | pulumi.Output[list[tuple[str, str]]], make: Callable[[str, Any], T]) -> Any:
    """Each (name, value) made into the compute's own setting type, in a list or inside the Output."""
    if isinstance(pairs, pulumi.Output):
        return pairs.apply(lambda items: [make(n, v) for n, v in items])
    return [make(n, v) for n, v in pairs]


def env_output(env: Env, target: AzureAdTarget | None = None) -> pulumi.Output[dict[str, str]]:
    if target is not None and target.owner_settings is not None:
        pairs = with_owner_settings(env, target)
        assert isinstance(pairs, pulumi.Output)
        return pairs.apply(lambda items: {name: str(value) for name, value in items})
    return pulumi.Output.all(*(v for _, v in env)).apply(
        lambda values: {name: value for (name, _), value in zip(env, values, strict=True)}
    )


def appsettings_json(env: dict[str, str]) -> str:
    """The same settings as an ``appsettings.json`` document (``AzureAd`` section)."""
    section: dict[str, object] = {}
    credential: dict[str, str] = {}
    for name, value in env.items():
        parts = name.split("__")
        if parts[1] == "ClientCredentials":
            credential[parts[3]] = value
        else:
            section[parts[1]] = value
    section["ClientCredentials"] = [credential]
    return json.dumps({"AzureAd": section}, indent=2, sort_keys=False)
