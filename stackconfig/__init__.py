"""Stack configuration for the certless Pulumi program: read, validate, and fail with one clear message.

Lives next to ``__main__.py`` because components never read configuration.
"""

from stackconfig.errors import ConfigError
from stackconfig.loader import identity_trust_fic_name, load
from stackconfig.model import StackConfig, WorkloadSpec
from stackconfig.pulumi_config import read_pulumi_config

__all__ = [
    "ConfigError",
    "StackConfig",
    "WorkloadSpec",
    "identity_trust_fic_name",
    "load",
    "read_pulumi_config",
]
