"""Reusable certless ComponentResources: identity, app registration, federated credentials, compute bindings.

Components never read stack configuration; ``__main__.py`` validates config and passes typed Args.
"""

from components.access import AccessGrant, AccessGrantArgs, AppRoleGrant, RoleGrant, grant_to_identity
from components.aks import AksWorkloadBinding, AksWorkloadBindingArgs
from components.app_registration import (
    AppRegistration,
    AppRegistrationArgs,
    AppRole,
    PermissionScope,
    WebApi,
    WebPlatform,
)
from components.app_service import AppServiceBinding, AppServiceBindingArgs
from components.azure_ad import AzureAdTarget
from components.clouds import CLOUDS, Cloud
from components.container_app import ContainerAppBinding, ContainerAppBindingArgs
from components.federated_credential import FederatedCredential, FederatedCredentialArgs
from components.function_app import FunctionAppBinding, FunctionAppBindingArgs
from components.handles import AppOutputs, FicWriteQueue, IdentityOutputs
from components.identity import ManagedIdentity, ManagedIdentityArgs
from components.identity_layer import IdentityLayer, IdentityLayerArgs
from components.referenced_identity_layer import ReferencedIdentityLayer, ReferencedIdentityLayerArgs
from components.virtual_machine import VirtualMachineBinding, VirtualMachineBindingArgs, VmImage
from components.workload import (
    AksOptions,
    AppServiceOptions,
    CertificatelessWorkload,
    CertificatelessWorkloadArgs,
    ContainerAppOptions,
    FunctionAppOptions,
    VmOptions,
)

__all__ = [
    "CLOUDS",
    "AccessGrant",
    "AccessGrantArgs",
    "AksOptions",
    "AksWorkloadBinding",
    "AksWorkloadBindingArgs",
    "AppOutputs",
    "AppRegistration",
    "AppRegistrationArgs",
    "AppRole",
    "AppRoleGrant",
    "AppServiceBinding",
    "AppServiceBindingArgs",
    "AppServiceOptions",
    "AzureAdTarget",
    "CertificatelessWorkload",
    "CertificatelessWorkloadArgs",
    "Cloud",
    "ContainerAppBinding",
    "ContainerAppBindingArgs",
    "ContainerAppOptions",
    "FederatedCredential",
    "FederatedCredentialArgs",
    "FicWriteQueue",
    "FunctionAppBinding",
    "FunctionAppBindingArgs",
    "FunctionAppOptions",
    "IdentityLayer",
    "IdentityLayerArgs",
    "IdentityOutputs",
    "ManagedIdentity",
    "ManagedIdentityArgs",
    "PermissionScope",
    "ReferencedIdentityLayer",
    "ReferencedIdentityLayerArgs",
    "RoleGrant",
    "VirtualMachineBinding",
    "VirtualMachineBindingArgs",
    "VmImage",
    "VmOptions",
    "WebApi",
    "WebPlatform",
    "grant_to_identity",
]
