"""Local identity services for tests, the demo and developers' laptops: a loopback Entra (HTTPS), IMDS,
the App Service / Container Apps identity endpoint and AKS OIDC issuers, enforcing a plan's FICs.

Importing this package starts nothing; `Emulator(records).start()` (or `with Emulator(records)`) does.
"""

from emulator.emulator import HOST_KINDS, Emulator
from emulator.errors import EmulatorError, RecordsError
from emulator.faults import ENDPOINTS, Fault, FaultPlan
from emulator.ratelimit import IdentityLimits
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
