"""Your app on your laptop: emulator (and Azurite) in the background, one eval line for a workload's host."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from certless_ops.cli import add_json_option, write_json
from certless_ops.errors import UserError

HELP = (
    "Your app on your laptop: plans the stack, starts the identity emulator in the background (and with "
    "--azurite, Azurite behind Azure's RBAC check) and prints ONE line for your shell: "
    'eval "$(./dev emulate --workload NAME --azurite)" exports that workload\'s AzureAd settings, what '
    "its compute injects (IDENTITY_ENDPOINT/IDENTITY_HEADER, an IMDS address or AKS workload identity) "
    "and one CA bundle trusted for every local service. The emulator keeps running until "
    "'./dev emulate --stop'; a second start reuses it."
)

_READY_TIMEOUT_SECONDS = 90.0


class StartFailed(RuntimeError):
    """The background emulator did not come up: not the user's mistake (exit 1)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workload",
        metavar="NAME",
        help="the workload whose host to emulate (default: the plan's only workload, when it has one)",
    )
    parser.add_argument("--stack", default="dev", metavar="NAME", help="stack to plan (default: dev)")
    parser.add_argument(
        "--config-file", type=Path, metavar="PATH", help="stack config file instead of Pulumi.NAME.yaml"
    )
    parser.add_argument(
        "--plan", type=Path, metavar="FILE", help="serve this plan JSON instead of planning --stack"
    )
    parser.add_argument(
        "--azurite",
        action="store_true",
        help="also run Azurite (blob, HTTPS, OAuth) behind the plan's Azure RBAC; its blob URL is printed "
        "on stderr (and in --json), for your app's own storage setting",
    )
    parser.add_argument(
        "--stop", action="store_true", help="stop the background emulator (and Azurite) and remove its files"
    )
    add_json_option(
        parser,
        "where everything runs and the workload's environment (identity header hidden; no eval line then)",
    )


def run(args: argparse.Namespace) -> int:
    from certless_ops.emulate import state

    path = state.state_path()
    if args.stop:
        given = [f"--{k.replace('_', '-')}" for k in ("workload", "config_file", "plan") if getattr(args, k)]
        if given or args.azurite:
            raise UserError(f"--stop with {', '.join(given or ['--azurite'])}; expected --stop alone")
        with state.exclusive(path):
            print(state.stop(path), file=sys.stderr)
        return 0
    try:
        # Two shells starting at once: the second waits, then reuses what the first started.
        with state.exclusive(path):
            running = _reuse(path, args) or _start(path, args)
    except StartFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return _print(running, args)


def _origin(args: argparse.Namespace) -> str:
    if args.plan is not None:
        return f"plan {str(args.plan.resolve())!r}"
    return f"stack {args.stack!r}" + (f" ({args.config_file.resolve()})" if args.config_file else "")


def _reuse(path: Path, args: argparse.Namespace) -> Any:
    from certless_ops.emulate import state

    running = state.find_running(path)
    if running is None:
        return None
    emulate = running.emulate
    if emulate is None:
        raise UserError(
            f"an emulator started with 'python -m emulator' is already running (pid {running.pid}, state "
            f"file {path}); expected none: stop it with './dev emulate --stop' (or Ctrl-C where it runs)"
        )
    has_azurite = bool(emulate.get("azurite"))
    if emulate.get("origin") != _origin(args) or has_azurite != args.azurite:
        now = f"{emulate.get('origin')} {'with' if has_azurite else 'without'} Azurite"
        raise UserError(
            f"the emulator is already running for {now} (pid {running.pid}); expected the same "
            "--stack/--plan and --azurite to reuse it, or './dev emulate --stop' first"
        )
    hosts = emulate.get("hosts") or {}
    if args.workload is None and len(hosts) == 1:
        args.workload = next(iter(hosts))
    if args.workload not in hosts:
        given = "no --workload given" if args.workload is None else f"--workload {args.workload[:80]!r}"
        raise UserError(f"{given}; expected one of the running plan's workloads: {', '.join(hosts)}")
    print(f"emulator already running (pid {running.pid}) for {now_of(emulate)}: reusing it", file=sys.stderr)
    return running


def now_of(emulate: dict[str, Any]) -> str:
    return f"{emulate.get('origin')}{' with Azurite' if emulate.get('azurite') else ''}"


def _plan(args: argparse.Namespace, run_dir: Path) -> tuple[Path, dict[str, Any]]:
    from certless_ops.demo import chain
    from certless_ops.plan.file import load_plan

    target = run_dir / "plan.json"
    if args.plan is not None:
        plan = load_plan(args.plan)
        target.write_text(json.dumps(plan), encoding="utf-8")
        return target, plan
    try:
        config = args.config_file.resolve() if args.config_file else None
        return target, chain.write_plan(args.stack, target, config_file=config)
    except chain.ChainError as exc:
        raise StartFailed(str(exc)) from None


def _check_workload(plan: dict[str, Any], wanted: str | None, origin: str) -> str:
    from certless_ops.demo import chain

    workloads = chain.workloads(plan)
    if not workloads:
        raise UserError(f"{origin}: the plan has no workloads in outputs.workloads; expected at least one")
    if wanted is None:
        if len(workloads) == 1:
            return next(iter(workloads))
        raise UserError(f"no --workload given; expected one of the plan's workloads: {', '.join(workloads)}")
    if wanted not in workloads:
        raise UserError(
            f"--workload {wanted[:80]!r}: expected one of the plan's workloads: {', '.join(workloads)}"
        )
    try:
        chain.host_kind(workloads[wanted])
    except chain.ChainError as exc:
        raise UserError(f"--workload {wanted!r}: {exc}") from None
    return wanted


def _start(path: Path, args: argparse.Namespace) -> Any:
    from certless_ops.emulate import state

    if args.plan is None and args.config_file is None:
        _check_stack(args.stack)
    if args.azurite:
        from certless_ops.azurite import locate_azurite

        locate_azurite()  # Node.js or Azurite missing: one line saying what to install, before any work
    state.stop(path)  # a crashed run's leftovers (a stale state file, an orphaned Azurite)
    run_dir = state.run_dir_for(path)
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        plan_path, plan = _plan(args, run_dir)
        args.workload = _check_workload(plan, args.workload, _origin(args))
        return _spawn(path, run_dir, plan_path, args)
    except BaseException:
        state.stop(path)
        raise


def _check_stack(stack: str) -> None:
    from certless_ops.plan.config import available_stacks
    from emulator.cli import PROJECT_ROOT

    stacks = available_stacks(PROJECT_ROOT)
    if stack not in stacks:
        raise UserError(
            f"--stack {stack[:80]!r}: no Pulumi.{stack[:80]}.yaml; expected one of: {', '.join(stacks)}"
        )


def _spawn(path: Path, run_dir: Path, plan_path: Path, args: argparse.Namespace) -> Any:
    from certless_ops.emulate import state

    log = run_dir / "emulator.log"
    command = [
        sys.executable, "-m", "certless_ops.emulate.daemon",
        "--plan", str(plan_path), "--state", str(path), "--run-dir", str(run_dir), "--origin", _origin(args),
        *(["--azurite"] if args.azurite else []),
    ]  # fmt: skip
    with open(log, "ab") as out:
        # A session of its own: closing the terminal or Ctrl-C there does not reach it; --stop does.
        daemon = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=run_dir,
            start_new_session=True,
        )
    deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        running = state.find_running(path)
        if running is not None and running.pid == daemon.pid:
            return running
        if daemon.poll() is not None:
            raise StartFailed(f"the emulator did not start: {_last_line(log)}")
        time.sleep(0.05)
    raise StartFailed(f"the emulator did not start within {_READY_TIMEOUT_SECONDS:.0f} s: {_last_line(log)}")


def _last_line(log: Path) -> str:
    lines = (
        [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        if log.exists()
        else []
    )
    return lines[-1].removeprefix("error: ") if lines else "no output"


def _print(running: Any, args: argparse.Namespace) -> int:
    from certless_ops.emulate.shell import app_environment, eval_line, shown

    emulate = running.emulate
    host = emulate["hosts"][args.workload]
    envs = running.doc["env"]
    azurite = emulate.get("azurite") or {}
    env = app_environment(envs[args.workload][host], ca_bundle=emulate["caBundle"])
    report = [
        f"emulator running (pid {running.pid}) for {now_of(emulate)}: workload {args.workload!r} on {host}",
        f"  Entra (HTTPS):          {running.doc.get('entra_url')}",
        f"  identity endpoint/IMDS: {running.doc.get('identity_endpoint')} / {running.doc.get('imds_url')}",
    ]
    if azurite:
        report.append(
            f"  Azurite blob (Azure RBAC in front): {azurite['accountUrl']}  (your app's storage URL)"
        )
    report += [
        f"  CA bundle:              {emulate['caBundle']}",
        f"  state file:             {running.path}",
        "  stop it with:           ./dev emulate --stop",
    ]
    print("\n".join(report), file=sys.stderr)
    if args.json is not None:
        write_json(
            {
                "pid": running.pid,
                "origin": emulate.get("origin"),
                "workload": args.workload,
                "host": host,
                "stateFile": str(running.path),
                "entraUrl": running.doc.get("entra_url"),
                "storageAccountUrl": azurite.get("accountUrl"),
                "caBundle": emulate["caBundle"],
                "env": shown(env),
            },
            args.json,
        )
        if args.json == "-":
            return 0
    if sys.stdout.isatty():
        again = f"./dev emulate --workload {args.workload}" + (" --azurite" if azurite else "")
        print(f'load it into your shell with: eval "$({again})"', file=sys.stderr)
    sys.stdout.write(eval_line(env) + "\n")
    return 0
