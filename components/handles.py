"""What compute bindings need from an identity or an app, whether this stack owns it or only references it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi


class FicWriteQueue:
    """Serializes FIC writes under one user-assigned identity.

    Azure rejects concurrent FIC writes on one identity (409
    ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity), so each FIC on an identity
    depends on the previous one.
    """

    def __init__(self) -> None:
        self._tail: pulumi.Resource | None = None

    def depends_on(self) -> list[pulumi.Resource]:
        return [self._tail] if self._tail is not None else []

    def push(self, resource: pulumi.Resource) -> None:
        self._tail = resource


@dataclass
class IdentityOutputs:
    """A user-assigned identity: created, adopted by resource ID, or referenced from the owning stack."""

    client_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    tenant_id: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    name: pulumi.Output[str]
    resource_group_name: pulumi.Output[str]
    fic_writes: FicWriteQueue = field(default_factory=FicWriteQueue)
    provider: pulumi.ProviderResource | None = None
    """The azure-native provider that writes to the identity (its FICs) when the stack's default provider
    targets another subscription; None: the default provider."""
    protected: bool = False
    """The identity is protected (production): what the platform needs granted to it is protected too."""


@dataclass
class AppOutputs:
    """An Entra app registration: ``application_id`` is the Graph resource ID ``/applications/{objectId}``."""

    client_id: pulumi.Output[str]
    object_id: pulumi.Output[str]
    service_principal_id: pulumi.Output[str] | None = None
    """Object ID of the app's service principal (what the app runs as); None when only referenced."""
    sign_in: pulumi.Output[dict[str, str]] | None = None
    """Referenced from the owner's ``sharedIdentity``: the web app's and web API's AzureAd settings it
    implies (``AzureAd__CallbackPath``, ``__Audience``, ``__Scopes``), whichever the owner exports."""

    @property
    def application_id(self) -> pulumi.Output[str]:
        return self.object_id.apply(lambda oid: f"/applications/{oid}")
