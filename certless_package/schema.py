"""The package schema exactly as the host infers it when the Pulumi CLI asks (GetSchema)."""

import json
from typing import Any

from pulumi.provider.experimental.component import ComponentProvider

import certless
from certless_package import COMPONENTS, PACKAGE_NAME


def provider() -> ComponentProvider:
    """The provider the host serves: schema inferred from the components' annotations."""
    return ComponentProvider(COMPONENTS, PACKAGE_NAME, version=certless.__version__)


def package_schema() -> dict[str, Any]:
    inferred = provider().schema
    assert inferred is not None  # ComponentProvider always sets it
    schema: dict[str, Any] = json.loads(inferred)
    return schema
