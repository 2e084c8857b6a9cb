"""Read a plan file written by `./dev plan --json FILE` (for review, blue-green, e2e)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from certless_ops.errors import UserError

SCHEMA = "certless.plan/v1"


def load_plan(path: str | Path) -> dict[str, Any]:
    """The plan document at `path`; one clear UserError for a missing file, bad JSON or another schema."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(
            f"plan file {str(p)!r} does not exist; create it with `./dev plan --stack NAME --json FILE`"
        ) from None
    except IsADirectoryError:
        raise UserError(f"plan file {str(p)!r} is a directory; expected a plan JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"plan file {str(p)!r} cannot be read: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"plan file {str(p)!r} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            f"expected a {SCHEMA} document"
        ) from None
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if schema != SCHEMA:
        raise UserError(f"plan file {str(p)!r} has schema {schema!r}; expected {SCHEMA!r}")
    for key, kind in (("resources", list), ("outputs", dict)):
        if not isinstance(doc.get(key), kind):
            raise UserError(f"plan file {str(p)!r} has no {key!r} {kind.__name__}; expected a complete plan")
    return doc
