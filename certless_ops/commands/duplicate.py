"""Duplicate a stack into a new colour (blue -> green) that references the shared identity layer."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certless_ops.cli import add_json_option, human_stream, write_json

if TYPE_CHECKING:
    from certless_ops.bluegreen.duplicate import DuplicateResult, Planner

HELP = (
    "Write Pulumi.<stack>-<color>.yaml from Pulumi.<stack>.yaml for a blue-green release: same settings, "
    "certless:color set, the shared identity layer referenced (certless:identityOwner) instead of owned. "
    "Refuses encrypted values, an existing target (unless --force) and more than 20 FICs on the shared "
    "identity or app (counted by planning the owner and every colour stack offline)."
)

_REPO_ROOT = Path(__file__).resolve().parents[2]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="source", metavar="STACK", required=True, help="the stack to copy, e.g. prod"
    )
    parser.add_argument("--color", required=True, help="the new colour, e.g. green")
    parser.add_argument("--to", metavar="STACK", help="the new stack's name (default: <stack>-<color>)")
    parser.add_argument(
        "--org",
        help="Pulumi organization for the StackReference to the owner (default: the current one)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite the target stack file if it exists")
    parser.add_argument("--dry-run", action="store_true", help="print the new file instead of writing it")
    parser.add_argument(
        "--owner-plan",
        metavar="FILE",
        type=Path,
        help="plan JSON of the owner stack, when its Pulumi.<stack>.yaml is not in the project dir",
    )
    add_json_option(parser, "what was (or would be) written and the next steps")
    parser.add_argument(
        "--project-dir",
        metavar="DIR",
        type=Path,
        default=_REPO_ROOT,
        help="folder with Pulumi.yaml and the stack files (default: the repository root)",
    )


def offline_planner(project_dir: Path) -> Planner:
    """Plan stacks with the offline plan tool (see certless_ops/bluegreen/planning.py)."""
    from certless_ops.bluegreen.planning import plan_stack

    def plan(
        stack: str, text: str | None, outputs: Mapping[str, Mapping[str, Any]], subscription: str | None
    ) -> dict[str, Any]:
        return plan_stack(project_dir, stack, text=text, outputs=outputs, subscription=subscription)

    return plan


def run(args: argparse.Namespace) -> int:
    from certless_ops.bluegreen.duplicate import DuplicateRequest, prepare

    owner_plan = None
    if args.owner_plan is not None:
        from certless_ops.plan.file import load_plan

        owner_plan = load_plan(args.owner_plan)
    request = DuplicateRequest(
        project_dir=args.project_dir,
        source=args.source,
        color=args.color,
        target=args.to,
        org=args.org,
        force=args.force,
        owner_plan=owner_plan,
    )
    # A failed program run leaves un-awaited coroutines; the failure is reported once, as one line.
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
    result = prepare(request, offline_planner(args.project_dir))
    out = human_stream(args)
    if args.dry_run:
        if args.json != "-":
            sys.stdout.write(result.text)
            sys.stdout.flush()
        _summary(result, written=False, org=args.org, out=sys.stderr)
    else:
        if result.owner_update is not None:
            result.owner_update.path.write_text(result.owner_update.text, encoding="utf-8")
        result.path.write_text(result.text, encoding="utf-8")
        _summary(result, written=True, org=args.org, out=out)
    if args.json is not None:
        write_json(_document(result, written=not args.dry_run, org=args.org), args.json)
    return 0


def _next_steps(result: DuplicateResult, org: str | None) -> list[str]:
    """The runbook's steps after this one (docs/blue-green.md), in its order."""
    from certless_ops.bluegreen.runbook import release_steps

    return release_steps(result.release(org))


def _document(result: DuplicateResult, *, written: bool, org: str | None) -> dict[str, Any]:
    return {
        "source": result.source,
        "target": result.target,
        "path": str(result.path),
        "written": written,
        "ownerReference": result.owner_ref,
        "removedKeys": result.removed_keys,
        "ficCounts": [
            {"target": c.target, "total": c.total, "byStack": c.by_stack, "limit": 20}
            for c in result.fic_counts
        ],
        "notes": result.notes,
        "ownerUpdate": (
            {
                "stack": result.owner_update.stack,
                "path": str(result.owner_update.path),
                "added": list(result.owner_update.added),
            }
            if result.owner_update is not None
            else None
        ),
        "next": _next_steps(result, org),
        **({} if written else {"text": result.text}),
    }


def _summary(result: DuplicateResult, *, written: bool, org: str | None, out: Any) -> None:
    verb = "wrote" if written else "would write"
    shared = (
        f"shared identity layer referenced from stack {result.owner_ref!r}"
        if result.owner_ref
        else "shared identity layer given by explicit IDs"
    )
    print(f"{verb} {result.path.name} from Pulumi.{result.source}.yaml: {shared}", file=out)
    if result.removed_keys:
        print(f"  removed (owned by {result.source} only): {', '.join(result.removed_keys)}", file=out)
    if result.owner_update is not None:
        verb_owner = "added" if written else "would add"
        for uri in result.owner_update.added:
            print(
                f"  {verb_owner} {uri} to {result.owner_update.path.name} (redirect URI of the owner's app)",
                file=out,
            )
    for count in result.fic_counts:
        print(f"  FICs after the release: {count.explain()}, limit 20", file=out)
    for note in result.notes:
        print(f"  note: {note}", file=out)
    print("next:", file=out)
    for number, step in enumerate(_next_steps(result, org), start=1):
        print(f"  {number}. {step}", file=out)
