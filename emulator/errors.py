"""User-facing errors of the emulator itself (bad records, bad options): one line, no stack trace."""

from __future__ import annotations


class EmulatorError(Exception):
    """A mistake in how the emulator was asked to run; the CLI prints it and exits 2."""


class RecordsError(EmulatorError):
    """Names the thing, the value it had and what was expected."""

    def __init__(self, thing: str, value: str, expected: str) -> None:
        self.thing = thing
        self.value = value
        self.expected = expected
        super().__init__(f"{thing}: got {value!s}, expected {expected}")
