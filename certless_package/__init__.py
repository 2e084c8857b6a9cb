"""The certless components as a Pulumi component package, for programs in any Pulumi language.

Each class here is a thin adapter: TypedDict Args that Pulumi's schema inference can read, mapped onto
the component in ``components/`` that the Python program uses directly. Types are ``certless:index:*``.
"""

from certless_package.access import AccessGrant
from certless_package.app_registration import AppRegistration
from certless_package.identity import ManagedIdentity
from certless_package.workload import CertificatelessWorkload

COMPONENTS = [CertificatelessWorkload, ManagedIdentity, AppRegistration, AccessGrant]
"""What the package exposes, in schema order."""

PACKAGE_NAME = "certless"

__all__ = [
    "COMPONENTS",
    "PACKAGE_NAME",
    "AccessGrant",
    "AppRegistration",
    "CertificatelessWorkload",
    "ManagedIdentity",
]
