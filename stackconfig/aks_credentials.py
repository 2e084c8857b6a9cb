"""``aks.credentials``: how the kubernetes provider authenticates to an AKS cluster.

An Entra-integrated (AAD) cluster's user kubeconfig runs ``kubelogin get-token --login devicecode``,
which waits for someone to type a code in a browser: a deployment in CI hangs there. The kubelogin
modes below are the non-interactive ones; the program rewrites the kubeconfig into them itself (what
``kubelogin convert-kubeconfig -l <mode>`` does), so only ``kubelogin get-token`` runs, under the
kubernetes provider, on the deploying machine.
"""

from __future__ import annotations

from typing import Final

from components.aks_kubeconfig import KUBELOGIN_MODES, MODES, ClusterCredentials

__all__ = ["DEFAULT", "KUBELOGIN_MODES", "MODES", "needs_kubelogin"]

DEFAULT: Final[ClusterCredentials] = "user"


def needs_kubelogin(mode: str) -> bool:
    return mode in KUBELOGIN_MODES
