"""The shared identity layer as both colours see it, and which stack owns it.

The layer is identified from the documented ``workloads`` outputs (identity resource ID, app object and
client IDs, the app FICs trusting the identity), so it is found the same way whether a stack owns it,
references it through a StackReference or through explicit IDs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from certless_ops.bluegreen.physical import (
    PhysicalName,
    app_key,
    arm_containers,
    arm_key,
    plan_physical_names,
)
from certless_ops.bluegreen.planview import Plan, Resource


@dataclass(frozen=True)
class SharedPiece:
    role: str  # "identity", "app registration", "service principal", "app FIC"
    name: PhysicalName


@dataclass(frozen=True)
class OwnedPiece:
    piece: SharedPiece
    plan: Plan
    resource: Resource


def shared_pieces(plans: Sequence[Plan]) -> list[SharedPiece]:
    """Every shared-layer physical resource the plans' workloads rely on."""
    pieces: dict[str, SharedPiece] = {}

    def add(role: str, name: PhysicalName) -> None:
        pieces.setdefault(name.key, SharedPiece(role, name))

    for plan in plans:
        for workload in plan.workloads:
            # The app is shared whatever the identity; the identity and the app's FIC trusting it only
            # when it is user-assigned (system-assigned ones live and die with each colour's compute).
            user_assigned = workload.identity_type == "UserAssigned"
            if user_assigned and workload.identity_resource_id:
                rid = workload.identity_resource_id
                add("identity", PhysicalName(arm_key(rid), f"identity {rid}", arm_containers(rid)))
            oid = workload.app_object_id
            if oid:
                add("app registration", PhysicalName(app_key(oid), f"app registration {oid}"))
                if workload.app_client_id:
                    add(
                        "service principal",
                        PhysicalName(
                            f"entra-sp:{workload.app_client_id.lower()}",
                            f"service principal of app {workload.app_client_id}",
                            (app_key(oid),),
                        ),
                    )
                for fic in workload.federated_credentials if user_assigned else ():
                    if fic.get("on") == "app" and fic.get("subject") == workload.identity_principal_id:
                        fic_name = str(fic.get("name", ""))
                        add(
                            "app FIC",
                            PhysicalName(
                                f"entra-app-fic:{oid.lower()}:{fic_name.lower()}",
                                f"FIC {fic_name!r} on app {oid}",
                                (app_key(oid),),
                            ),
                        )
    return list(pieces.values())


def owned_pieces(pieces: Sequence[SharedPiece], plans: Sequence[Plan]) -> list[OwnedPiece]:
    """Which plan creates which shared piece (a piece created by two plans appears twice)."""
    by_key = {p.name.key: p for p in pieces}
    found: list[OwnedPiece] = []
    for plan in plans:
        for urn, names in plan_physical_names(plan).items():
            for name in names:
                piece = by_key.get(name.key)
                if piece is not None:
                    found.append(OwnedPiece(piece, plan, plan.by_urn[urn]))
    return found
