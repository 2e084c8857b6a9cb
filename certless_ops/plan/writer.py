"""Serialize a plan so that the same plan always gives the same bytes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from certless_ops.errors import UserError


def dumps(plan: dict[str, Any]) -> str:
    return json.dumps(plan, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_plan(plan: dict[str, Any], target: str) -> None:
    """Write to `target`, a file path or "-" for stdout; the file is replaced only once fully written."""
    text = dumps(plan)
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(target)
    if path.is_dir():
        raise UserError(f"--json {target!r} is a directory; expected a file path or '-'")
    if not path.parent.is_dir():
        raise UserError(f"--json {target!r}: folder {str(path.parent)!r} does not exist")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"--json {target!r} cannot be written: {exc.strerror}") from None
