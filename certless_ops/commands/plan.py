"""Offline plan: run the Pulumi program under the mock engine with a simulated Azure; print the wiring."""

from __future__ import annotations

import argparse
import json
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

from certless_ops.cli import add_json_option, json_to_stdout
from certless_ops.errors import UserError

HELP = (
    "Run the real Pulumi program offline (Pulumi's mock engine plus a deterministic Azure / Entra / "
    "Kubernetes simulator) and print which identity each federated credential trusts and which identity "
    "each compute uses. No Pulumi CLI, cloud credentials or network needed. --json writes the plan "
    "(schema certless.plan/v1, docs/plan-schema.md)."
)

_REPO_ROOT = Path(__file__).resolve().parents[2]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack", metavar="NAME", help="stack name: reads Pulumi.NAME.yaml in the project dir"
    )
    parser.add_argument(
        "--config-file",
        metavar="PATH",
        type=Path,
        help="stack config file to use instead of Pulumi.NAME.yaml",
    )
    parser.add_argument(
        "--project-dir",
        metavar="DIR",
        type=Path,
        default=_REPO_ROOT,
        help="folder with Pulumi.yaml and __main__.py (default: the repository root)",
    )
    add_json_option(parser, "the plan (schema certless.plan/v1)")
    parser.add_argument(
        "--stack-outputs",
        metavar="STACK=FILE",
        action="append",
        default=[],
        help="outputs for a StackReference: a plan JSON of that stack or a JSON object of its outputs "
        "(repeatable); wins over planning it here. An owner stack (certless:identityOwner) whose "
        "Pulumi.<owner>.yaml is in the project is planned offline first without it",
    )
    parser.add_argument(
        "--preview",
        action="store_true",
        help="run the program as `pulumi preview` does (computed outputs unknown, applies on them skipped) "
        "and check that it registers every resource the plan does",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="do not print the tree (nor the picture, unless --output)"
    )
    parser.add_argument(
        "--format",
        choices=("tree", "mermaid", "svg", "png"),
        default="tree",
        help="what to print: the wiring tree (default), or the trust chain (compute, identity, FIC, app, "
        "grants; broken links in red) as a Mermaid flowchart, which GitHub renders, or as an SVG or PNG "
        "image drawn by Graphviz's `dot` (install Graphviz for those)",
    )
    parser.add_argument(
        "--output",
        metavar="FILE",
        default=None,
        help="write the picture (--format mermaid, svg or png) to FILE instead of stdout; '-' is stdout",
    )
    parser.add_argument(
        "--traceback", action="store_true", help="on a program error, also print its traceback"
    )


def parse_stack_outputs(specs: list[str]) -> dict[str, dict[str, Any]]:
    """`STACK=FILE` pairs; FILE holds a plan (its `outputs` are used) or a plain JSON object of outputs."""
    result: dict[str, dict[str, Any]] = {}
    for spec in specs:
        name, sep, file = spec.partition("=")
        if not sep or not name or not file:
            raise UserError(
                f"--stack-outputs {spec!r}: expected STACK=FILE, e.g. org/certless/shared=shared.json"
            )
        try:
            doc = json.loads(Path(file).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"--stack-outputs {spec!r}: file {file!r} does not exist") from None
        except (OSError, ValueError) as exc:
            raise UserError(f"--stack-outputs {spec!r}: file {file!r} is not readable JSON ({exc})") from None
        if isinstance(doc, dict) and isinstance(doc.get("schema"), str):
            from certless_ops.plan.file import load_plan

            doc = load_plan(file)["outputs"]
        if not isinstance(doc, dict):
            raise UserError(
                f"--stack-outputs {spec!r}: expected a JSON object of outputs, got {type(doc).__name__}"
            )
        result[name] = doc
    return result


def run(args: argparse.Namespace) -> int:
    # Heavy imports (the Pulumi SDKs) only once the arguments are known to be usable.
    from certless_ops.plan.config import load_stack_config
    from certless_ops.plan.picture_output import check_picture_args

    check_picture_args(args.format, args.output, json_on_stdout=json_to_stdout(args))
    if not args.stack and args.config_file is None:
        raise UserError("no stack given; expected --stack NAME (e.g. --stack dev) or --config-file PATH")
    stack_outputs = parse_stack_outputs(args.stack_outputs)
    cfg = load_stack_config(args.project_dir, args.stack, args.config_file)

    # A failed program leaves un-awaited coroutines that Python reports at exit; the failure itself is
    # reported once, as a one-line error.
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
    from certless_ops.console import progress
    from certless_ops.plan.owners import with_owner_outputs
    from certless_ops.plan.runner import ProgramError, run_plan, run_preview
    from certless_ops.plan.writer import write_plan

    mode = "as `pulumi preview` does" if args.preview else "under Pulumi's mock engine"
    try:
        with progress(f"planning stack {cfg.stack} {mode}…", json_to_stdout=json_to_stdout(args)):
            planned_outputs = with_owner_outputs(cfg, stack_outputs, run_plan)
            plan = run_preview(cfg, planned_outputs) if args.preview else run_plan(cfg, planned_outputs)
    except ProgramError as exc:
        if args.traceback and exc.cause is not None:
            traceback.print_exception(exc.cause, file=sys.stderr)
        raise
    if args.json:
        write_plan(plan, args.json)
    if args.format != "tree" and not (args.quiet and args.output is None):
        from certless_ops.plan.picture_output import write_picture

        write_picture(plan, args.format, args.output, json_on_stdout=json_to_stdout(args))
    elif not args.quiet:
        from certless_ops.console import make_console
        from certless_ops.plan.tree import render

        # The tree goes to stderr when the plan itself goes to stdout, so `--json -` stays parseable.
        console = make_console(stderr=args.json == "-")
        render(plan, console)
    return 0
