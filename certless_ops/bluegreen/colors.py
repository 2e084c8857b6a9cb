"""Colour names: what a valid colour looks like and how a colour stack is named."""

from __future__ import annotations

import re

from certless_ops.errors import UserError

# The colour ends up in physical names (resource groups, sites, FIC names), some of which are short
# and lowercase-only, so it stays a short lowercase word.
COLOR_PATTERN = re.compile(r"^[a-z][a-z0-9]{1,11}$")
COLOR_EXPECTED = "2 to 12 lowercase letters or digits starting with a letter, e.g. 'blue' or 'green'"


def validate_color(value: str, *, what: str = "--color") -> str:
    """Return the colour unchanged, or raise UserError naming the value and the expected format."""
    if not COLOR_PATTERN.fullmatch(value):
        raise UserError(f"{what} {value!r} is not a valid colour: expected {COLOR_EXPECTED}")
    return value


def colour_stack_name(source_stack: str, color: str) -> str:
    """``prod`` + ``green`` -> ``prod-green``; ``prod-blue`` + ``green`` -> ``prod-green``."""
    base, sep, last = source_stack.rpartition("-")
    if sep and COLOR_PATTERN.fullmatch(last) and last in KNOWN_COLOURS:
        return f"{base}-{color}"
    return f"{source_stack}-{color}"


# Only these suffixes are recognised as a colour already in a stack name when deriving the target name;
# any other suffix (``prod-eu``) is part of the base name.
KNOWN_COLOURS = frozenset({"blue", "green"})
