"""Colour names: what a valid colour looks like and how a colour stack is named."""

from __future__ import annotations

import re

from certless_ops.errors import UserError

# Same rule as the program's `certless:color` (stackconfig/rules.py, checked equal by a test): the
# colour is a suffix of physical names, some short and DNS-bound, so it is a short DNS label.
COLOR_PATTERN = re.compile(r"^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$")
COLOR_EXPECTED = "a lowercase DNS label of 1-12 characters (letters, digits, '-'), like blue or green"


def validate_color(value: str, *, what: str = "--color") -> str:
    """Return the colour unchanged, or raise UserError naming the value and the expected format."""
    if not COLOR_PATTERN.fullmatch(value):
        raise UserError(f"{what} {value!r} is not a valid colour: expected {COLOR_EXPECTED}")
    return value


def colour_stack_name(source_stack: str, source_color: str | None, color: str) -> str:
    """``prod`` + green -> ``prod-green``; ``prod-blue`` (colour blue) + green -> ``prod-green``."""
    base = source_stack
    if source_color and source_stack.endswith(f"-{source_color}"):
        base = source_stack[: -len(source_color) - 1]
    return f"{base}-{color}"
