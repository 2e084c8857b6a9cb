"""The demo's picture of its stack: the plan's trust chain, kept after the demo's temp dir is gone.

An SVG drawn by Graphviz when `dot` is on PATH, else the Mermaid flowchart in a Markdown file (GitHub
and most editors render it). It goes beside ``--json FILE`` when the demo writes one, else into the
current folder, named after the stack, and is written before any service starts: a chain that fails
later in the demo is still there to look at, broken links in red.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certless_ops.errors import UserError


@dataclass(frozen=True)
class Picture:
    path: Path
    kind: str  # "svg" or "mermaid"


def picture_folder(json_out: str | None, cwd: Path) -> Path:
    """Beside the demo's JSON file when there is one (not stdout), else the current folder."""
    folder = Path(json_out).parent if json_out not in (None, "-") else Path()
    folder = folder if folder.is_absolute() else cwd / folder
    if not folder.is_dir():
        raise UserError(f"--json {str(json_out)[:80]!r}: folder {str(folder)[:80]!r} does not exist")
    return folder


def picture_name(stack: str, kind: str) -> str:
    # A stack may be named org/project/stack: keep a file name of one path segment.
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", stack).strip(".-") or "stack"
    return f"certless-demo-{safe}.{'svg' if kind == 'svg' else 'md'}"


def write_picture(plan: Mapping[str, Any], stack: str, folder: Path) -> Picture:
    kind = "svg" if shutil.which("dot") else "mermaid"
    if kind == "svg":
        from certless_ops.plan.picture_dot import render_image

        data = render_image(plan, "svg")
    else:
        from certless_ops.plan.picture import mermaid

        chart = mermaid(plan).rstrip("\n")
        data = f"# Trust chain of stack {stack}\n\n```mermaid\n{chart}\n```\n".encode()
    path = folder / picture_name(stack, kind)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)  # whole or not at all: an editor showing the file never sees half of it
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"the demo's picture {str(path)[:80]!r} cannot be written: {exc.strerror}") from None
    return Picture(path, kind)
