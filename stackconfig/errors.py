"""The one error type for bad stack configuration."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration value is wrong: the message names the key, the value and what was expected."""
