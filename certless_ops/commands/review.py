"""Offline policy review: the policy pack on a stack's offline plan; exit 1 on a mandatory violation."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from certless_ops.cli import add_json_option, human_stream, json_to_stdout, write_json_text
from certless_ops.errors import UserError

HELP = (
    "Evaluate the CrossGuard policy pack in policy/ on a stack's offline plan, through pulumi_policy's "
    "own analyzer (Analyze per resource, AnalyzeStack for the stack), as `pulumi preview --policy-pack "
    "policy/` would. Prints the violations and exits 1 when a mandatory policy is violated. --preview "
    "reviews the stack as `pulumi preview --policy-pack policy/` does: on the preview plan, where values "
    "known only after deploy are unknown and a rule that reads one is skipped for that resource."
)

_REPO_ROOT = Path(__file__).resolve().parents[2]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", metavar="NAME", help="run the offline plan for stack NAME first")
    source.add_argument("--plan", metavar="FILE", type=Path, help="review an existing plan JSON file")
    parser.add_argument(
        "--preview",
        action="store_true",
        help="review as `pulumi preview` runs the pack: with --stack, on the stack's preview plan "
        "(`plan --preview`); with --plan, FILE must be a preview plan",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="policy pack config (the --policy-pack-config format); default: policy/config/<stack>.json "
        "in the project dir when it exists",
    )
    parser.add_argument(
        "--project-dir",
        metavar="DIR",
        type=Path,
        default=_REPO_ROOT,
        help="folder with Pulumi.yaml, the stack files and policy/config (default: the repository root)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json", "markdown"),
        default=None,
        help="table (default), json, or markdown: a summary with the trust-chain picture for "
        "$GITHUB_STEP_SUMMARY and pull-request comments",
    )
    add_json_option(parser, "the review (verdict, violations, policies)")


def _run_plan(stack: str, project_dir: Path, target: Path, preview: bool = False) -> None:
    command = [
        sys.executable,
        "-m",
        "certless_ops",
        "plan",
        "--stack",
        stack,
        "--project-dir",
        str(project_dir),
        "--json",
        str(target),
        "--quiet",
        *(["--preview"] if preview else []),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        if len(lines) > 1:
            sys.stderr.write(result.stderr)  # e.g. a traceback the plan chose to show: keep it visible
        detail = lines[-1].removeprefix("error: ") if lines else f"exit status {result.returncode}"
        kind = "preview plan" if preview else "plan"
        raise UserError(f"the offline {kind} for stack {stack!r} failed: {detail}")


def _check_plan_kind(plan_file: Path, is_preview: bool, want_preview: bool) -> None:
    """A preview plan holds unknowns a normal review would judge as values, and the reverse."""
    if want_preview and not is_preview:
        raise UserError(
            f"--preview with plan file {str(plan_file)!r}: it is not a preview plan (simulation.preview is "
            "not true); expected one written by `plan --preview --json FILE`, or drop --preview"
        )
    if is_preview and not want_preview:
        raise UserError(
            f"plan file {str(plan_file)!r} is a preview plan (simulation.preview: true); expected --preview "
            "to review it as `pulumi preview` would, or a plan written without --preview"
        )


def run(args: argparse.Namespace) -> int:
    if args.format == "json":  # the older spelling of --json
        if args.json not in (None, "-"):
            raise UserError(f"--format json and --json {args.json!r}: expected one JSON destination")
        args.json, args.format = "-", None
    if json_to_stdout(args) and args.format is not None:
        raise UserError(
            f"--json and --format {args.format}: both would go to stdout; expected --json FILE with it"
        )
    if not args.project_dir.is_dir():
        raise UserError(f"--project-dir {str(args.project_dir)!r} is not a folder")

    from certless_ops.console import progress
    from certless_ops.plan.file import load_plan
    from certless_ops.review import load_pack_config, review_plan
    from certless_ops.review.analyzer import is_preview_plan
    from certless_ops.review.pack_config import PackConfig
    from certless_ops.review.report import print_json, print_table
    from policy.rules import ALL_POLICIES

    if args.stack is not None:
        with tempfile.TemporaryDirectory(prefix="certless-review-") as tmp:
            plan_path = Path(tmp) / "plan.json"
            with progress(
                f"planning stack {args.stack} under Pulumi's mock engine…",
                json_to_stdout=json_to_stdout(args),
            ):
                _run_plan(args.stack, args.project_dir, plan_path, args.preview)
            plan = load_plan(plan_path)
    else:
        plan = load_plan(args.plan)
        _check_plan_kind(args.plan, is_preview_plan(plan), args.preview)

    config_path: Path | None = args.config
    if config_path is None:
        default = args.project_dir / "policy" / "config" / f"{plan.get('stack')}.json"
        config_path = default if default.is_file() else None
    config = load_pack_config(config_path, ALL_POLICIES) if config_path else PackConfig()
    if config_path is not None and config_path.resolve().is_relative_to(Path.cwd()):
        config_path = config_path.resolve().relative_to(Path.cwd())
    shown_config = str(config_path) if config_path else None

    review = review_plan(plan, config)
    if args.json is not None:
        import io

        buffer = io.StringIO()
        print_json(review, buffer, {"packConfig": shown_config})
        write_json_text(buffer.getvalue(), args.json)
    out = human_stream(args)
    if args.format == "markdown":
        from certless_ops.review.report import print_markdown

        print_markdown(review, plan, out, shown_config)
    else:
        from certless_ops.console import make_console

        print_table(review, make_console(stderr=out is sys.stderr), shown_config)
    return 1 if review.mandatory else 0
