"""Write or check the JSON Schema that editors use to validate Pulumi.<stack>.yaml as you type."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from certless_ops.cli import add_json_option, human_stream, write_json, write_json_text
from certless_ops.errors import UserError

HELP = (
    "Print the JSON Schema of a certless stack file, generated from the config model; --write updates "
    "schema/certless-stack.schema.json, --check exits 1 when that file is out of date."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write the schema file")
    mode.add_argument("--check", action="store_true", help="exit 1 when the committed file differs")
    parser.add_argument("--path", type=Path, default=None, help="schema file (default: the repository's)")
    add_json_option(parser, "the outcome of --write or --check (path, upToDate)")


def run(args: argparse.Namespace) -> int:
    from stackconfig.json_schema import SCHEMA_FILE, render

    path: Path = args.path or SCHEMA_FILE
    text = render()
    out = human_stream(args)
    if args.write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}", file=out)
        if args.json is not None:
            write_json({"path": str(path), "written": True, "upToDate": True}, args.json)
        return 0
    if args.check:
        try:
            current = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"schema file {str(path)!r} cannot be read: {exc.strerror}") from None
        up_to_date = current == text
        if args.json is not None:
            write_json({"path": str(path), "written": False, "upToDate": up_to_date}, args.json)
        if not up_to_date:
            print(f"{path} is out of date; run: ./dev config-schema --write", file=sys.stderr)
            return 1
        print(f"{path} is up to date", file=out)
        return 0
    # The schema is JSON already: --json FILE writes it there, --json prints it as without the option.
    if args.json not in (None, "-"):
        write_json_text(text, args.json)
        return 0
    sys.stdout.write(text)
    return 0
