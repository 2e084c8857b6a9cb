"""VirtualMachineBinding: a Linux VM scale set (or one VM) running the app as the workload's identity.

A VM has no app settings, so the AzureAd settings travel in cloud-init custom data: an environment file
read by a systemd unit that runs the app's command. Login is by SSH key only, and nothing listens on a
public address: a new network gets a NAT gateway for outbound calls (Entra, the APIs the app calls),
because new subnets have no default outbound access. The identity endpoint on a VM is IMDS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
from pulumi_azure_native import compute, network

from components import cloud_init
from components.azure_ad import (
    FROM_MANAGED_IDENTITY,
    AzureAdTarget,
    azure_ad_env,
    env_output,
    with_owner_settings,
)
from components.handles import IdentityOutputs

VmMode = Literal["scaleset", "single"]

# A computed value's stand-in when the size of custom data is checked before deploy: the unknowns are
# client IDs (GUIDs), so a GUID-length placeholder gives the exact size.
_GUID_SIZED = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class VmImage:
    publisher: str
    offer: str
    sku: str
    version: str = "latest"


UBUNTU_2404 = VmImage("Canonical", "ubuntu-24_04-lts", "server", "latest")


@dataclass(frozen=True)
class VirtualMachineBindingArgs:
    resource_group_name: pulumi.Input[str]
    vm_name: str
    azure_ad: AzureAdTarget
    identity: IdentityOutputs
    command: str
    """The app's command line, run by systemd (``ExecStart``) with the AzureAd settings in its environment."""
    admin_username: str
    ssh_public_key: str
    mode: VmMode = "scaleset"
    instances: int = 2
    size: str = "Standard_B2s"
    image: VmImage = UBUNTU_2404
    service_user: str = "certless-app"
    subnet_id: str | None = None
    """An existing subnet; None creates a network with a NAT gateway for outbound traffic."""
    location: pulumi.Input[str] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    chain_credentials: Sequence[pulumi.Resource] = ()
    """The FICs of the app's chain: the VM waits for them, so its first token exchange finds them."""


def unit_name(vm_name: str) -> str:
    return f"certless-{vm_name.lower()}"


class VirtualMachineBinding(pulumi.ComponentResource):
    """Outputs ``vm_id``, ``principal_id`` (the identity the app runs as) and ``cloud_init``."""

    def __init__(
        self, name: str, args: VirtualMachineBindingArgs, opts: pulumi.ResourceOptions | None = None
    ):
        if args.mode not in ("scaleset", "single"):
            raise ValueError(
                f"VirtualMachineBinding {name!r}: mode {args.mode!r}; expected scaleset or single"
            )
        identity = args.identity
        self.env = azure_ad_env(args.azure_ad, FROM_MANAGED_IDENTITY, identity.client_id)
        unit = unit_name(args.vm_name)
        description = f"certless workload {args.vm_name}"

        def render(values: list[str]) -> str:
            env = [(k, v) for (k, _), v in zip(self.env, values, strict=True)]
            return cloud_init.document(
                unit, args.command, args.service_user, [*env, *sorted(args.env.items())], description
            )

        # Checked now, before any resource: custom data over the limit would fail only at deploy.
        try:
            render([v if isinstance(v, str) else _GUID_SIZED for _, v in self.env])
        except cloud_init.CloudInitError as err:
            raise ValueError(f"VirtualMachineBinding {name!r}: {err}") from None
        super().__init__("certless:compute:VirtualMachineBinding", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.cloud_init: pulumi.Output[str] = pulumi.Output.all(*(v for _, v in self.env)).apply(render)
        owner = with_owner_settings(self.env, args.azure_ad)
        if isinstance(owner, pulumi.Output):  # sign-in settings of an app another stack owns
            self.cloud_init = owner.apply(
                lambda pairs: cloud_init.document(
                    unit, args.command, args.service_user, [*pairs, *sorted(args.env.items())], description
                )
            )
        custom_data = self.cloud_init.apply(cloud_init.custom_data)

        subnet_id: pulumi.Input[str] = (
            self._network(name, args, child) if args.subnet_id is None else args.subnet_id
        )

        linux = compute.LinuxConfigurationArgs(
            disable_password_authentication=True,
            ssh=compute.SshConfigurationArgs(
                public_keys=[
                    compute.SshPublicKeyArgs(
                        key_data=args.ssh_public_key,
                        path=f"/home/{args.admin_username}/.ssh/authorized_keys",
                    )
                ]
            ),
        )
        image = compute.ImageReferenceArgs(
            publisher=args.image.publisher,
            offer=args.image.offer,
            sku=args.image.sku,
            version=args.image.version,
        )
        resource: compute.VirtualMachineScaleSet | compute.VirtualMachine
        if args.mode == "scaleset":
            resource = compute.VirtualMachineScaleSet(
                name,
                vm_scale_set_name=args.vm_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                sku=compute.SkuArgs(name=args.size, tier="Standard", capacity=args.instances),
                orchestration_mode=compute.OrchestrationMode.UNIFORM,
                # Instances follow model changes (new custom data reaches new and reimaged instances).
                upgrade_policy=compute.UpgradePolicyArgs(mode=compute.UpgradeMode.AUTOMATIC),
                overprovision=False,
                identity=compute.VirtualMachineScaleSetIdentityArgs(
                    type=compute.ResourceIdentityType.USER_ASSIGNED,
                    user_assigned_identities=[identity.resource_id],
                ),
                virtual_machine_profile=compute.VirtualMachineScaleSetVMProfileArgs(
                    os_profile=compute.VirtualMachineScaleSetOSProfileArgs(
                        computer_name_prefix=args.vm_name[:15],
                        admin_username=args.admin_username,
                        custom_data=custom_data,
                        linux_configuration=linux,
                    ),
                    storage_profile=compute.VirtualMachineScaleSetStorageProfileArgs(
                        image_reference=image,
                        os_disk=compute.VirtualMachineScaleSetOSDiskArgs(
                            create_option=compute.DiskCreateOptionTypes.FROM_IMAGE,
                            managed_disk=compute.VirtualMachineScaleSetManagedDiskParametersArgs(
                                storage_account_type=compute.StorageAccountTypes.STANDARD_SS_D_LRS
                            ),
                        ),
                    ),
                    network_profile=compute.VirtualMachineScaleSetNetworkProfileArgs(
                        network_interface_configurations=[
                            compute.VirtualMachineScaleSetNetworkConfigurationArgs(
                                name="nic",
                                primary=True,
                                ip_configurations=[
                                    compute.VirtualMachineScaleSetIPConfigurationArgs(
                                        name="ipconfig",
                                        primary=True,
                                        subnet=compute.ApiEntityReferenceArgs(id=subnet_id),
                                    )
                                ],
                            )
                        ]
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.chain_credentials)),
            )
        else:
            nic = network.NetworkInterface(
                name,
                network_interface_name=f"{args.vm_name}-nic",
                resource_group_name=args.resource_group_name,
                location=args.location,
                ip_configurations=[
                    network.NetworkInterfaceIPConfigurationArgs(
                        name="ipconfig",
                        primary=True,
                        private_ip_allocation_method=network.IPAllocationMethod.DYNAMIC,
                        subnet=network.SubnetArgs(id=subnet_id),
                    )
                ],
                opts=child,
            )
            resource = compute.VirtualMachine(
                name,
                vm_name=args.vm_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                hardware_profile=compute.HardwareProfileArgs(vm_size=args.size),
                identity=compute.VirtualMachineIdentityArgs(
                    type=compute.ResourceIdentityType.USER_ASSIGNED,
                    user_assigned_identities=[identity.resource_id],
                ),
                os_profile=compute.OSProfileArgs(
                    computer_name=args.vm_name[:64],
                    admin_username=args.admin_username,
                    custom_data=custom_data,
                    linux_configuration=linux,
                ),
                storage_profile=compute.StorageProfileArgs(
                    image_reference=image,
                    os_disk=compute.OSDiskArgs(
                        create_option=compute.DiskCreateOptionTypes.FROM_IMAGE,
                        delete_option=compute.DiskDeleteOptionTypes.DELETE,
                        managed_disk=compute.ManagedDiskParametersArgs(
                            storage_account_type=compute.StorageAccountTypes.STANDARD_SS_D_LRS
                        ),
                    ),
                ),
                network_profile=compute.NetworkProfileArgs(
                    network_interfaces=[compute.NetworkInterfaceReferenceArgs(id=nic.id, primary=True)]
                ),
                # Azure refuses to change a VM's custom data in place: new settings mean a new VM.
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=list(args.chain_credentials),
                    replace_on_changes=["osProfile.customData"],
                    delete_before_replace=True,
                ),
            )
        self.resource = resource
        self.vm_id = resource.id
        self.principal_id: pulumi.Output[str] = identity.principal_id
        self.azure_ad_env = env_output(self.env, args.azure_ad)
        self.register_outputs(
            {"vm_id": self.vm_id, "principal_id": self.principal_id, "cloud_init": self.cloud_init}
        )

    def _network(
        self, name: str, args: VirtualMachineBindingArgs, child: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        ip = network.PublicIPAddress(
            f"{name}-egress",
            public_ip_address_name=f"{args.vm_name}-egress",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=network.PublicIPAddressSkuArgs(name=network.PublicIPAddressSkuName.STANDARD),
            public_ip_allocation_method=network.IPAllocationMethod.STATIC,
            opts=child,
        )
        nat = network.NatGateway(
            name,
            nat_gateway_name=f"{args.vm_name}-nat",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=network.NatGatewaySkuArgs(name=network.NatGatewaySkuName.STANDARD),
            public_ip_addresses=[network.SubResourceArgs(id=ip.id)],
            opts=child,
        )
        vnet = network.VirtualNetwork(
            name,
            virtual_network_name=f"{args.vm_name}-vnet",
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space=network.AddressSpaceArgs(address_prefixes=["10.0.0.0/16"]),
            subnets=[
                network.SubnetArgs(
                    name="workload",
                    address_prefix="10.0.0.0/24",
                    nat_gateway=network.SubResourceArgs(id=nat.id),
                    default_outbound_access=False,
                )
            ],
            opts=child,
        )
        self.network = vnet
        return vnet.id.apply(lambda vnet_id: f"{vnet_id}/subnets/workload")
