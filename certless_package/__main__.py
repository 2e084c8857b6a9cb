"""Entry point the Pulumi CLI runs for the component package (``python certless_package/ <engine>``)."""

import sys
from pathlib import Path

# Run as a directory, only this folder is on sys.path; the components it adapts live one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.provider.experimental import component_provider_host

import certless
from certless_package import COMPONENTS, PACKAGE_NAME

if __name__ == "__main__":
    component_provider_host(COMPONENTS, PACKAGE_NAME, version=certless.__version__)
