"""Errors the components raise about the live environment (found while the program runs, not in config)."""

from __future__ import annotations

import pulumi


class EnvironmentMismatchError(pulumi.RunError):
    """An existing resource is not in the state the workload needs; the message names it and the fix.

    A ``RunError``, so the Pulumi engine prints the message without a stack trace.
    """
