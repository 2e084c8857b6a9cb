"""Projected service-account tokens, shaped as an AKS cluster's API server issues them to kubelet."""

from __future__ import annotations

import uuid
from typing import Any


def service_account_claims(
    *, issuer: str, namespace: str, service_account: str, now: int, lifetime: int, audience: str
) -> dict[str, Any]:
    """A projected service-account token as kubelet requests it from the API server."""
    return {
        "aud": [audience],
        "exp": now + lifetime,
        "iat": now,
        "nbf": now,
        "iss": issuer,
        "jti": str(uuid.uuid4()),
        "sub": f"system:serviceaccount:{namespace}:{service_account}",
        "kubernetes.io": {
            "namespace": namespace,
            "pod": {"name": f"{service_account}-pod", "uid": str(uuid.uuid4())},
            "serviceaccount": {
                "name": service_account,
                "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{issuer}#{namespace}/{service_account}")),
            },
        },
    }
