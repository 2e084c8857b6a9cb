"""The one error type for bad stack configuration."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration value is wrong: the message names the key, the value and what was expected.

    ``key`` and ``detail`` are the two halves of the message (``config <key>: <detail>``), kept so a
    rule checked inside a nested model can be re-anchored at the full key path.
    """

    def __init__(self, message: str, *, key: str | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.detail = detail

    @classmethod
    def at(cls, key: str, detail: str) -> ConfigError:
        return cls(f"config {key}: {detail}", key=key, detail=detail)
