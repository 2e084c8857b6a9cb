"""Check a blue-green release offline on the plans of both colours: names, FICs, destroy, protection."""

from __future__ import annotations

import argparse
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certless_ops.cli import add_json_option, json_to_stdout, write_json_text
from certless_ops.errors import UserError

if TYPE_CHECKING:
    from certless_ops.bluegreen.checks import Release

_REPO_ROOT = Path(__file__).resolve().parents[2]

HELP = (
    "Check a blue-green release offline on the plans of both colours: no physical name collides, no "
    "duplicate FIC, destroying either colour leaves the shared identity layer and the other colour "
    "untouched, the shared layer is protected, AKS cluster FICs are serialized and within the 20-FIC "
    "limit. Give stack names (planned here) or plan files. Exit status 1 when a check fails."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--blue", metavar="STACK", help="the current colour's stack, e.g. prod")
    parser.add_argument("--green", metavar="STACK", help="the new colour's stack, e.g. prod-green")
    parser.add_argument(
        "--owner",
        metavar="STACK",
        help="the stack owning the shared identity layer, when neither colour does (default: the stack "
        "the colours reference in certless:identityOwner, when its Pulumi.<owner>.yaml is in the project)",
    )
    parser.add_argument("--plan-blue", metavar="FILE", type=Path, help="plan JSON of the blue stack")
    parser.add_argument("--plan-green", metavar="FILE", type=Path, help="plan JSON of the green stack")
    parser.add_argument("--plan-owner", metavar="FILE", type=Path, help="plan JSON of the owner stack")
    parser.add_argument(
        "--project-dir",
        metavar="DIR",
        type=Path,
        default=_REPO_ROOT,
        help="folder with Pulumi.yaml and the stack files (default: the repository root)",
    )
    add_json_option(parser, "the check results")


def _pick(args: argparse.Namespace, role: str, required: bool) -> tuple[str | None, Path | None]:
    stack: str | None = getattr(args, role)
    plan: Path | None = getattr(args, f"plan_{role}")
    if stack and plan:
        raise UserError(
            f"--{role} {stack!r} and --plan-{role} {str(plan)!r} both given; expected one of them"
        )
    if required and not stack and not plan:
        raise UserError(f"no {role} stack given; expected --{role} STACK or --plan-{role} FILE")
    return stack, plan


def _plan(
    project_dir: Path,
    role: str,
    stack: str,
    known_outputs: dict[str, Any],
    subscription: str | None,
    *,
    json_on_stdout: bool,
) -> dict[str, Any]:
    from certless_ops.bluegreen.planning import plan_stack
    from certless_ops.console import progress
    from certless_ops.plan.simulator import SimulationError

    try:
        with progress(
            f"planning the {role} stack {stack} under Pulumi's mock engine…", json_to_stdout=json_on_stdout
        ):
            return plan_stack(project_dir, stack, outputs=dict(known_outputs), subscription=subscription)
    except SimulationError as exc:
        referenced = re.search(r"reads stack '([^']+)' through a StackReference", str(exc))
        if referenced is None:
            raise
        name = referenced.group(1)
        raise UserError(
            f"the {role} stack {stack!r} references stack {name!r}, which is not planned here; expected "
            f"the owner of the shared identity layer as --owner {name.rsplit('/', 1)[-1]} "
            "(or --plan-owner FILE)"
        ) from None


def _local_owner(project_dir: Path, choices: dict[str, tuple[str | None, Path | None]]) -> str | None:
    """The owner stack both colours reference, when neither colour is it and its file is in the project:
    planned first, as `--owner` would have it (`plan` does the same for a single colour stack)."""
    from certless_ops.plan.config import load_stack_config
    from certless_ops.plan.owners import local_stack_name, referenced_stack

    colours = {stack for stack, _ in (choices["blue"], choices["green"]) if stack}
    for stack, _plan_file in (choices["blue"], choices["green"]):
        if stack is None:
            continue
        cfg = load_stack_config(project_dir, stack)
        reference = referenced_stack(cfg)
        owner = local_stack_name(reference, cfg.project) if reference else None
        if owner and owner not in colours and (cfg.project_dir / f"Pulumi.{owner}.yaml").is_file():
            return owner
    return None


def _label(document: dict[str, Any]) -> str:
    """How messages name a stack: ``prod``, ``prod-green (green)``."""
    colour = (document.get("config") or {}).get("certless:color")
    return f"{document['stack']} ({colour})" if isinstance(colour, str) and colour else str(document["stack"])


def load_release(args: argparse.Namespace) -> Release:
    from certless_ops.bluegreen.checks import Release
    from certless_ops.bluegreen.planning import subscription_of
    from certless_ops.bluegreen.planview import Plan
    from certless_ops.plan.file import load_plan

    choices = {role: _pick(args, role, role != "owner") for role in ("owner", "blue", "green")}
    # Plan files first: a file the user named that cannot be read is the mistake to report, before any
    # stack file is looked for.
    documents: dict[str, dict[str, Any]] = {
        role: load_plan(plan_file) for role, (_stack, plan_file) in choices.items() if plan_file is not None
    }
    if choices["owner"] == (None, None):
        choices["owner"] = (_local_owner(args.project_dir, choices), None)
    # Owner first, then blue, then green: each later stack's StackReferences are answered with the
    # outputs of the stacks planned before it, as `pulumi up` in that order would see them.
    # All in the subscription of the first stack planned, as one `az login` would deploy them.
    known_outputs: dict[str, Any] = {}
    subscription: str | None = None
    for role, (stack, _plan_file) in choices.items():
        if role not in documents:
            if stack is None:
                continue
            documents[role] = _plan(
                args.project_dir,
                role,
                stack,
                known_outputs,
                subscription,
                json_on_stdout=json_to_stdout(args),
            )
        known_outputs[documents[role]["stack"]] = documents[role]["outputs"]
        subscription = subscription or subscription_of(documents[role])
    plans = {role: Plan.from_json(doc, _label(doc)) for role, doc in documents.items()}
    if plans["blue"].stack == plans["green"].stack:
        raise UserError(f"blue and green are the same stack {plans['blue'].stack!r}; expected two colours")
    return Release(plans["blue"], plans["green"], plans.get("owner"))


def run(args: argparse.Namespace) -> int:
    # A failed program run leaves un-awaited coroutines; the failure is reported once, as one line.
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
    from certless_ops.bluegreen.checks import run_checks
    from certless_ops.bluegreen.report import render_table, to_json
    from certless_ops.console import make_console

    release = load_release(args)
    results = run_checks(release)
    if args.json is not None:
        text = to_json(
            results,
            blue=release.blue.stack,
            green=release.green.stack,
            owner=release.owner.stack if release.owner else None,
        )
        write_json_text(text, args.json)
    title = f"blue-green checks: {release.blue.label} -> {release.green.label}"
    if release.owner is not None:
        title += f", shared layer owned by {release.owner.stack}"
    render_table(results, make_console(stderr=json_to_stdout(args)), title=title)
    return 0 if all(r.passed for r in results) else 1
