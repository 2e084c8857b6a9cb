"""The certless policy rules, importable without starting the policy pack's gRPC server.

``ALL_POLICIES`` is the single registry the pack (``policy/__main__.py``) and the offline review
(``./dev review``) load. To add rules, write a module here exposing
``POLICIES: list[Policy]`` and add its name to ``RULE_MODULES`` below: one line.
"""

from __future__ import annotations

import importlib

from pulumi_policy import Policy

PACK_NAME = "certless"

RULE_MODULES: tuple[str, ...] = (
    "credentials",
    "federation",
    "compute",
    "aks",
    "production",
    "blue_green",
    "vm",
    "access",
    "web",
    "easy_auth",
)


def _load() -> list[Policy]:
    policies: list[Policy] = []
    for module_name in RULE_MODULES:
        module = importlib.import_module(f"{__name__}.{module_name}")
        policies.extend(module.POLICIES)
    names = [p.name for p in policies]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RuntimeError(f"policy names must be unique in the pack; repeated: {', '.join(duplicates)}")
    return policies


ALL_POLICIES: list[Policy] = _load()
