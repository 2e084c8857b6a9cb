"""Serialize a plan so that the same plan always gives the same bytes."""

from __future__ import annotations

import json
from typing import Any

from certless_ops.cli import write_json_text


def dumps(plan: dict[str, Any]) -> str:
    return json.dumps(plan, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_plan(plan: dict[str, Any], target: str) -> None:
    """Write to `target`, a file path or "-" for stdout; the file is replaced only once fully written."""
    write_json_text(dumps(plan), target)
