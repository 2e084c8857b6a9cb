"""Local identity services for tests, the demo and developers' laptops: a loopback Entra (HTTPS), IMDS,
the App Service / Container Apps identity endpoint and AKS OIDC issuers, enforcing a plan's FICs.

Importing this package starts nothing and loads the server stack only when `Emulator` is first used;
`Emulator(records).start()` (or `with Emulator(records)`) starts the listeners.
"""

from typing import TYPE_CHECKING, Any

from emulator.errors import EmulatorError, RecordsError
from emulator.faults import ENDPOINTS, Fault, FaultPlan
from emulator.hosts import HOST_KINDS
from emulator.managed_identity.limits import IdentityLimits

if TYPE_CHECKING:
    from emulator.emulator import Emulator
    from emulator.records import (
        TOKEN_EXCHANGE_APP_ID,
        TOKEN_EXCHANGE_AUDIENCE,
        App,
        CertificateCredential,
        Cluster,
        FederatedCredential,
        Identity,
        Records,
        Workload,
    )

_LAZY = {
    "Emulator": "emulator.emulator",
    "TOKEN_EXCHANGE_APP_ID": "emulator.records",
    "TOKEN_EXCHANGE_AUDIENCE": "emulator.records",
    "App": "emulator.records",
    "CertificateCredential": "emulator.records",
    "Cluster": "emulator.records",
    "FederatedCredential": "emulator.records",
    "Identity": "emulator.records",
    "Records": "emulator.records",
    "Workload": "emulator.records",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'emulator' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ENDPOINTS",
    "HOST_KINDS",
    "TOKEN_EXCHANGE_APP_ID",
    "TOKEN_EXCHANGE_AUDIENCE",
    "App",
    "CertificateCredential",
    "Cluster",
    "Emulator",
    "EmulatorError",
    "Fault",
    "FaultPlan",
    "FederatedCredential",
    "Identity",
    "IdentityLimits",
    "Records",
    "RecordsError",
    "Workload",
]
