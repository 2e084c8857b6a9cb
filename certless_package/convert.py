"""From the package's TypedDict inputs to the Args dataclasses of ``components/``."""

from enum import Enum
from typing import Any


def plain(values: Any) -> dict[str, Any]:
    """A mapped input with its enum members replaced by their values: ``components/`` compares and
    looks up kinds and modes as strings, and a str Enum member hashes differently from its value."""
    return {k: v.value if isinstance(v, Enum) else v for k, v in dict(values).items()}
