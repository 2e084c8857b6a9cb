"""Entry point: ``certless-ops <command> ...`` (also ``./dev <command>`` and ``python -m certless_ops``)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from collections.abc import Sequence

from certless_ops import commands
from certless_ops.cli import PROG, OneLineParser
from certless_ops.errors import UserError


def _command_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_"))


def _command_help(module_name: str) -> str:
    # Read the summary without importing the module (imports can be heavy): its first docstring line.
    spec = importlib.util.find_spec(f"{commands.__name__}.{module_name}")
    if spec is None or spec.origin is None:
        return ""
    with open(spec.origin, encoding="utf-8") as fh:
        for line in fh:
            stripped = line.strip().strip('"').strip()
            if stripped:
                return stripped
    return ""


def _usage(names: list[str]) -> str:
    width = max(len(n) for n in names) + 2
    lines = [
        f"usage: {PROG} COMMAND [ARGS...]   ({PROG} COMMAND --help for its options)",
        "",
        "Offline tooling for the certless Pulumi program: no Pulumi CLI, no cloud needed.",
        "",
        "commands:",
    ]
    lines += [f"  {n.replace('_', '-'):<{width}}{_command_help(n)}" for n in names]
    lines += [
        "",
        "Every command: --help; --json [FILE] writes its result as JSON to FILE, or to stdout (the",
        "human-readable report then goes to stderr). Exit status: 0 done, 1 a check failed, 2 a usage or",
        "configuration mistake (one line on stderr, no traceback).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = _command_modules()
    if not argv or argv[0] in {"-h", "--help", "help"}:
        (sys.stdout if argv else sys.stderr).write(_usage(names))
        return 0 if argv else 2
    cmd = argv[0].replace("-", "_")
    if cmd not in names:
        expected = ", ".join(n.replace("_", "-") for n in names)
        print(
            f"{PROG}: error: unknown command {argv[0]!r}; expected one of: {expected} ({PROG} --help)",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(f"{commands.__name__}.{cmd}")
    cmd_parser = OneLineParser(prog=f"{PROG} {argv[0]}", description=module.HELP)
    module.add_arguments(cmd_parser)
    args = cmd_parser.parse_args(argv[1:])
    try:
        return int(module.run(args))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def console_main() -> int:
    """The `certless-ops` console script; a closed pipe (`certless-ops plan ... | head`) ends quietly."""
    try:
        try:
            code = main()
        except SystemExit as exc:  # argparse's --help and usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        sys.stdout.flush()
    except BrokenPipeError:
        return reader_left()
    return code


SIGPIPE_STATUS = 141


def reader_left() -> int:
    """The project's one convention for output into a closed pipe (`certless-ops plan | head -1`).

    Every entry point (certless, certless-ops, ./dev, python -m emulator) ends the same way: no traceback,
    and exit status 141, i.e. 128 + SIGPIPE, what a shell reports for `cat big | head -1`, so a pipeline
    under `set -o pipefail` sees the same status as with any Unix tool. Python ignores SIGPIPE to raise
    BrokenPipeError instead; stdout is pointed at devnull so the interpreter's final flush cannot raise
    again. (Python's own recipe exits 1, but 1 already means "a check failed" here.)
    """
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return SIGPIPE_STATUS


if __name__ == "__main__":
    sys.exit(console_main())
