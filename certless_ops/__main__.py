"""Entry point: ``python -m certless_ops <command> ...``."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import pkgutil
import sys
from collections.abc import Sequence

from certless_ops import commands
from certless_ops.errors import UserError


def _command_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_"))


def _command_help(module_name: str) -> str:
    # Read HELP without importing the module (imports can be heavy): first docstring line.
    spec = importlib.util.find_spec(f"{commands.__name__}.{module_name}")
    if spec is None or spec.origin is None:
        return ""
    with open(spec.origin, encoding="utf-8") as fh:
        for line in fh:
            stripped = line.strip().strip('"').strip()
            if stripped:
                return stripped
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = _command_modules()
    parser = argparse.ArgumentParser(
        prog="python -m certless_ops",
        description="Offline tooling for the certless Pulumi program: no Pulumi CLI, no cloud needed.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in names:
        sub.add_parser(name.replace("_", "-"), help=_command_help(name), add_help=False)
    if not argv or argv[0] in {"-h", "--help"}:
        parser.print_help()
        return 0 if argv else 2
    cmd = argv[0].replace("-", "_")
    if cmd not in names:
        parser.error(
            f"unknown command {argv[0]!r}; expected one of: {', '.join(n.replace('_', '-') for n in names)}"
        )
    module = importlib.import_module(f"{commands.__name__}.{cmd}")
    cmd_parser = argparse.ArgumentParser(prog=f"python -m certless_ops {argv[0]}", description=module.HELP)
    module.add_arguments(cmd_parser)
    args = cmd_parser.parse_args(argv[1:])
    try:
        return int(module.run(args))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _main_quiet_on_closed_pipe() -> int:
    try:
        try:
            code = main()
        except SystemExit as exc:  # argparse's --help/--version and usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        sys.stdout.flush()
    except BrokenPipeError:
        # `python -m certless_ops plan ... | head`: the reader left; end quietly, without a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return code


if __name__ == "__main__":
    sys.exit(_main_quiet_on_closed_pipe())
