"""Where `plan --format mermaid|svg|png` puts the picture: --output FILE, or stdout.

Every mistake is found before the plan runs (it takes seconds): a folder as FILE, a missing folder, a PNG
aimed at a terminal, two documents for one stdout, no Graphviz `dot` for an image.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from certless_ops.errors import UserError

IMAGES = ("svg", "png")


def check_picture_args(fmt: str, output: str | None, *, json_on_stdout: bool) -> None:
    if fmt == "tree":
        if output is not None:
            raise UserError(
                f"--output {output[:80]!r} with --format tree: expected --format mermaid, svg or png "
                "(the tree is printed, --json FILE writes the plan)"
            )
        return
    to_stdout = output in (None, "-")
    if fmt in IMAGES and to_stdout and json_on_stdout:
        raise UserError(
            f"--json and --format {fmt}: both would go to stdout; expected --output FILE or --json FILE"
        )
    if fmt == "png" and to_stdout and sys.stdout.isatty():
        raise UserError("--format png is a binary image: expected --output FILE (e.g. --output chain.png)")
    if not to_stdout:
        assert output is not None
        path = Path(output)
        if path.is_dir():
            raise UserError(f"--output {output[:80]!r} is a folder; expected a file path or '-'")
        if not path.parent.is_dir():
            raise UserError(f"--output {output[:80]!r}: folder {str(path.parent)[:80]!r} does not exist")
    if fmt in IMAGES and shutil.which("dot") is None:
        from certless_ops.plan.picture_dot import INSTALL_DOT

        raise UserError(INSTALL_DOT)


def write_picture(plan: Mapping[str, Any], fmt: str, output: str | None, *, json_on_stdout: bool) -> None:
    if fmt == "mermaid":
        from certless_ops.plan.picture import mermaid

        data = mermaid(plan).encode()
    else:
        from certless_ops.plan.picture_dot import render_image

        data = render_image(plan, fmt)
    if output not in (None, "-"):
        assert output is not None
        _replace(Path(output), data)
    elif fmt == "mermaid" and json_on_stdout:  # stdout carries the plan JSON: the text goes to stderr
        sys.stderr.write(data.decode())
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _replace(path: Path, data: bytes) -> None:
    """Replace FILE only once the picture is whole: a reader never sees half an image."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"--output {str(path)[:80]!r} cannot be written: {exc.strerror}") from None
