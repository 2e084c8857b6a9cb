"""Offline policy review: the policy pack on a stack's offline plan; exit 1 on a mandatory violation."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from certless_ops.console import make_console
from certless_ops.errors import UserError

HELP = (
    "Evaluate the CrossGuard policy pack in policy/ on a stack's offline plan, through pulumi_policy's "
    "own analyzer (Analyze per resource, AnalyzeStack for the stack), as `pulumi preview --policy-pack "
    "policy/` would. Prints the violations and exits 1 when a mandatory policy is violated."
)

PACK_CONFIG_DIR = Path(__file__).resolve().parents[2] / "policy" / "config"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", metavar="NAME", help="run the offline plan for stack NAME first")
    source.add_argument("--plan", metavar="FILE", type=Path, help="review an existing plan JSON file")
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="policy pack config (the --policy-pack-config format); default: policy/config/<stack>.json "
        "when it exists",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json", "markdown"),
        default=None,
        help="table (default), json, or markdown: a summary with the trust-chain picture for "
        "$GITHUB_STEP_SUMMARY and pull-request comments",
    )
    parser.add_argument("--json", action="store_true", help="the same as --format json")


def _run_plan(stack: str, target: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "certless_ops",
        "plan",
        "--stack",
        stack,
        "--json",
        str(target),
        "--quiet",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        if len(lines) > 1:
            sys.stderr.write(result.stderr)  # e.g. a traceback the plan chose to show: keep it visible
        detail = lines[-1].removeprefix("error: ") if lines else f"exit status {result.returncode}"
        raise UserError(f"the offline plan for stack {stack!r} failed: {detail}")


def run(args: argparse.Namespace) -> int:
    from certless_ops.plan.file import load_plan
    from certless_ops.review import load_pack_config, review_plan
    from certless_ops.review.pack_config import PackConfig
    from certless_ops.review.report import print_json, print_table
    from policy.rules import ALL_POLICIES

    if args.stack is not None:
        with tempfile.TemporaryDirectory(prefix="certless-review-") as tmp:
            plan_path = Path(tmp) / "plan.json"
            _run_plan(args.stack, plan_path)
            plan = load_plan(plan_path)
    else:
        plan = load_plan(args.plan)

    config_path: Path | None = args.config
    if config_path is None:
        default = PACK_CONFIG_DIR / f"{plan.get('stack')}.json"
        config_path = default if default.is_file() else None
    config = load_pack_config(config_path, ALL_POLICIES) if config_path else PackConfig()
    if config_path is not None and config_path.resolve().is_relative_to(Path.cwd()):
        config_path = config_path.resolve().relative_to(Path.cwd())

    review = review_plan(plan, config)
    if args.json and args.format not in (None, "json"):
        raise UserError(f"--json and --format {args.format}: expected one output format")
    output = "json" if args.json else (args.format or "table")
    if output == "json":
        print_json(review, sys.stdout, {"packConfig": str(config_path) if config_path else None})
    elif output == "markdown":
        from certless_ops.review.report import print_markdown

        print_markdown(review, plan, sys.stdout, str(config_path) if config_path else None)
    else:
        console = make_console()
        print_table(review, console, str(config_path) if config_path else None)
    return 1 if review.mandatory else 0
