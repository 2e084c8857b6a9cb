"""Entry point the Pulumi CLI runs (``python -m pulumi.policy <engine> .`` in this folder).

It only builds the PolicyPack, which starts the analyzer's gRPC server and never returns; the rules
live in the importable ``rules`` package (the CLI puts this folder first on ``sys.path``).
"""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import ALL_POLICIES, PACK_NAME

PolicyPack(
    name=PACK_NAME,
    policies=ALL_POLICIES,
    enforcement_level=EnforcementLevel.ADVISORY,
    description="Certificateless Entra authentication: no stored credentials, correct federated trust.",
)
