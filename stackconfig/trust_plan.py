"""Whole-stack check of the federated identity credentials before any is declared.

Entra allows at most 20 FICs per app or identity, one FIC per issuer+subject pair on each, and names
that follow the FIC name rule. Issuers of AKS clusters are not known before the program reads the
cluster, so a cluster stands for its issuer here (one cluster has one issuer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from components.naming import FIC_NAME_RE
from stackconfig.errors import ConfigError

if TYPE_CHECKING:
    from stackconfig.model import StackConfig

MAX_FICS = 20


@dataclass(frozen=True)
class PlannedFic:
    on: str
    """``app:<key>`` or ``identity:<key>``."""
    name: str
    issuer: str
    subject: str
    declared_by: str


def planned_fics(config: StackConfig) -> list[PlannedFic]:
    entra = config.cloud.issuer(config.tenant_id)
    fics = [
        PlannedFic(
            f"app:{app}", name, entra, f"principal of identity {identity}", "the shared identity layer"
        )
        for app, identity, name in config.identity_trusts
    ]
    for w in config.workloads.values():
        where = f"workload {w.name!r}"
        if w.aks is not None:
            assert w.cluster_fic_name is not None
            issuer = (
                w.aks.issuer_url
                or f"OIDC issuer of AKS cluster {w.aks.cluster_resource_group}/{w.aks.cluster_name}"
            )
            subject = f"system:serviceaccount:{w.aks.namespace}:{w.aks.service_account}"
            on = f"identity:{w.identity}" if w.aks.mode == "via-identity" else f"app:{w.app}"
            fics.append(PlannedFic(on, w.cluster_fic_name, issuer, subject, where))
        if w.system_fic_name is not None:
            fics.append(PlannedFic(f"app:{w.app}", w.system_fic_name, entra, f"principal of {w.name}", where))
    return fics


def check_trust_plan(config: StackConfig) -> None:
    names: dict[tuple[str, str], PlannedFic] = {}
    pairs: dict[tuple[str, str, str], PlannedFic] = {}
    counts: dict[str, int] = {}
    for fic in planned_fics(config):
        if not FIC_NAME_RE.fullmatch(fic.name):
            raise ConfigError(
                f"federated credential name {fic.name!r} for {fic.declared_by} is invalid: expected 3-120"
                " letters, digits, '-' or '_', starting with a letter or digit"
            )
        previous = names.setdefault((fic.on, fic.name), fic)
        if previous is not fic:
            raise ConfigError(
                f"federated credential name {fic.name!r} on {fic.on} is used by both {previous.declared_by}"
                f" and {fic.declared_by}; expected unique names per app or identity"
            )
        previous = pairs.setdefault((fic.on, fic.issuer, fic.subject), fic)
        if previous is not fic:
            raise ConfigError(
                f"issuer {fic.issuer!r} and subject {fic.subject!r} on {fic.on} are trusted twice"
                f" ({previous.declared_by} and {fic.declared_by}); Entra allows one federated credential"
                " per issuer and subject"
            )
        counts[fic.on] = counts.get(fic.on, 0) + 1
        if counts[fic.on] > MAX_FICS:
            raise ConfigError(
                f"{fic.on} would hold {counts[fic.on]} federated credentials; Entra allows at most {MAX_FICS}"
                " per app or identity"
            )
