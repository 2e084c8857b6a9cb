"""What every ops command shares on its command line: one-line usage errors and one `--json` option.

`--json [FILE]` means the same on every command: the command's result as one JSON document, in FILE or,
without FILE (or with '-'), on stdout. When stdout carries the JSON, nothing else is written there: the
human-readable report goes to stderr, so `certless-ops review --stack dev --json | jq` always parses.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any, NoReturn

from certless_ops.errors import UserError

PROG = "certless-ops"


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line naming the option and what was expected (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} ({self.prog} --help)\n")


def add_json_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--json",
        metavar="FILE",
        nargs="?",
        const="-",
        default=None,
        help=f"write {what} as JSON to FILE, or to stdout without FILE (the report then goes to stderr)",
    )


def json_to_stdout(args: argparse.Namespace) -> bool:
    return getattr(args, "json", None) == "-"


def human_stream(args: argparse.Namespace) -> IO[str]:
    """Where the human-readable report goes: stdout, unless stdout carries the JSON."""
    return sys.stderr if json_to_stdout(args) else sys.stdout


def write_json_text(text: str, target: str) -> None:
    """Write `text` to `target` (a path or '-'); a file is replaced only once fully written."""
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


def write_json(document: Any, target: str) -> None:
    write_json_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n", target)
