"""The one line `eval "$(./dev emulate ...)"` runs: the workload's environment on its compute, for bash/zsh.

The values are the emulator's own host environment for the workload (its AzureAd settings with the
authority pointed at the emulator, and what the compute injects: IDENTITY_ENDPOINT/IDENTITY_HEADER, an
IMDS address or the AKS workload-identity variables), with one CA bundle for every local service. Host
variables of the other kinds of compute are unset, so switching workloads in one shell leaves no mix.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

# Variables each managed-identity host kind injects (emulator/host_env.py).
HOST_VARIABLES = (
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_AUTHORITY_HOST",
)
# Exported by earlier versions with --azurite: unset, so a shell that eval'd such a line keeps no stale URL.
# The line carries only what the compute gives the app; an app's storage URL is its own setting (for the
# sample API `Notes__AccountUrl`), and the stderr report prints Azurite's.
RETIRED_VARIABLES = ("CERTLESS_STORAGE_ACCOUNT_URL",)
# Python (requests, azure-core), OpenSSL-based runtimes (ssl, .NET on Linux, curl) and Node.js read these.
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "AzureAd__CaBundle")
SECRET_VARIABLES = frozenset({"IDENTITY_HEADER", "MSI_SECRET"})
HIDDEN = "(set, value hidden)"


def app_environment(host_env: Mapping[str, str], *, ca_bundle: str) -> dict[str, str]:
    """What the eval line exports: the workload's AzureAd__* and host variables, and one CA bundle."""
    env = dict(host_env)
    for name in CA_VARIABLES:
        env[name] = ca_bundle
    return env


def eval_line(env: Mapping[str, str]) -> str:
    """``unset ...; export K='v' ...`` on one line, quoted for POSIX shells (bash, zsh, dash)."""
    stale = [name for name in (*HOST_VARIABLES, *RETIRED_VARIABLES) if name not in env]
    exports = " ".join(f"{key}={shlex.quote(env[key])}" for key in sorted(env))
    return (f"unset {' '.join(stale)}; " if stale else "") + f"export {exports}"


def shown(env: Mapping[str, str]) -> dict[str, str]:
    """The environment for a report or JSON: every name, the host's secret values hidden."""
    return {key: HIDDEN if key in SECRET_VARIABLES else value for key, value in sorted(env.items())}
