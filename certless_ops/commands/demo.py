"""Show one certificateless token acquisition end to end on this machine, then stop everything."""

from __future__ import annotations

import argparse
import json
import shlex
import signal
from pathlib import Path
from typing import Any

from certless_ops.cli import add_json_option, json_to_stdout, write_json
from certless_ops.errors import UserError

HELP = (
    "Show one certificateless token acquisition end to end on this machine: writes the offline plan, "
    "starts the local identity emulator seeded from it and Azurite (HTTPS, OAuth), runs one workload's "
    "app configured as its compute would be, and shows each hop: the managed identity token next to the "
    "federated credential that accepts it, the exchange at Entra, the access token's claims (never the "
    "token) and the blob call. With --web: a user signs in to the two sample web apps in headless "
    "Chromium instead. Stops everything it started, also on Ctrl-C."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # None, not "dev", so that --web can tell a --stack given from the default.
    parser.add_argument("--stack", metavar="NAME", help="stack to plan (default: dev)")
    parser.add_argument(
        "--config-file", type=Path, metavar="PATH", help="stack config file instead of Pulumi.NAME.yaml"
    )
    parser.add_argument(
        "--plan",
        type=Path,
        metavar="FILE",
        help="use this plan JSON (certless.plan/v1) instead of writing one for --stack",
    )
    parser.add_argument(
        "--workload",
        metavar="NAME",
        help="the workload whose app to run (default: the first App Service one, else the first)",
    )
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="after the demo, keep the emulator and Azurite running until Ctrl-C, with an env file "
        "for pointing your own app at them",
    )
    add_json_option(parser, "the outcome: workload, host, each hop's request and claims (never a token)")
    web = parser.add_argument_group("the web apps (examples/web-app and examples/notes-api)")
    web.add_argument(
        "--web",
        action="store_true",
        help="instead: plan the web stack, run the sample web app and notes API, sign a test user in "
        "through the emulated Entra in headless Chromium and save a note as that user (on-behalf-of, "
        "to Azurite), with a screenshot of each page",
    )
    web.add_argument(
        "--screenshots",
        type=Path,
        metavar="DIR",
        help="with --web: write the numbered PNG screenshots here (default: a new temp folder, printed)",
    )
    web.add_argument(
        "--live",
        action="store_true",
        help="with --web: start everything and print the web app's URL and the test user for your own "
        "browser; runs until Ctrl-C",
    )


def _choose_workload(workloads: dict[str, dict[str, Any]], wanted: str | None, source: str) -> str:
    if not workloads:
        raise UserError(f"{source}: the plan has no workloads in outputs.workloads; nothing to demo")
    if wanted is not None:
        if wanted not in workloads:
            raise UserError(
                f"--workload {wanted!r}: expected one of the stack's workloads: {', '.join(workloads)}"
            )
        return wanted
    return next((n for n, w in workloads.items() if w.get("kind") == "appservice"), next(iter(workloads)))


def _write_env_file(path: Path, env: dict[str, str]) -> None:
    # The identity header is a secret of the (emulated) host: it goes to a 0600 file, never the console.
    path.touch(mode=0o600)
    with open(path, "w", encoding="utf-8") as fh:
        for key, value in sorted(env.items()):
            fh.write(f"export {key}={shlex.quote(value)}\n")


def run(args: argparse.Namespace) -> int:
    from certless_ops.azurite import AzuriteError
    from certless_ops.demo.chain import ChainError
    from emulator import EmulatorError, RecordsError

    try:
        if args.web or args.live or args.screenshots is not None:
            from certless_ops.console import make_console
            from certless_ops.demo import web_demo

            return web_demo.run(args, make_console(highlight=False))
        args.stack = args.stack or "dev"
        return _run(args)
    except RecordsError as exc:
        # The plan does not describe what the emulator needs (a hand-edited or foreign plan).
        source = f"--plan {str(args.plan)!r}" if args.plan else f"the plan of stack {args.stack or 'dev'!r}"
        raise UserError(f"{source}: {exc}") from None
    except (ChainError, AzuriteError, EmulatorError) as exc:
        raise UserError(str(exc)) from None


def _run(args: argparse.Namespace) -> int:
    from certless_ops.azurite import ACCOUNT, locate_azurite
    from certless_ops.console import make_console, rule
    from certless_ops.demo import chain, render
    from certless_ops.demo.picture import picture_folder, write_picture
    from certless_ops.demo.session import DemoSession

    console = make_console(highlight=False, stderr=json_to_stdout(args))
    locate_azurite()  # fail first, in one line, if Node.js or Azurite is missing
    # Resolved before the temp dir becomes this process's tempfile dir: the picture outlives the demo.
    folder = picture_folder(args.json, Path.cwd())
    interrupted = False
    try:
        with DemoSession() as session:
            if args.plan is not None:
                plan_path, plan = session.copy_plan(args.plan)
            else:
                with console.status(
                    f"Writing the offline plan of stack {args.stack!r} (Pulumi mock engine)…"
                ):
                    plan_path, plan = session.write_plan(args.stack, args.config_file)
            workloads = chain.workloads(plan)
            source = f"--plan {str(args.plan)!r}" if args.plan else f"stack {args.stack!r}"
            name = _choose_workload(workloads, args.workload, source)
            render.plan_table(console, plan)
            picture = write_picture(plan, str(plan.get("stack") or args.stack), folder)
            render.picture(console, picture)

            with console.status("Starting the identity emulator and Azurite…"):
                emu = session.start_emulator(plan_path)
                azurite = session.start_azurite()
                rbac = session.start_storage_rbac(plan, emu, azurite)
            storage_url = rbac.account_url(ACCOUNT)
            render.services(
                console,
                [
                    ("Entra (emulated, HTTPS)", emu.entra_url),
                    ("App Service / Container Apps identity endpoint", emu.identity_endpoint),
                    ("IMDS", emu.imds_url),
                    ("Azurite blob (HTTPS, --oauth basic)", azurite.account_url),
                    ("Azure RBAC check in front of Azurite (the app's account URL)", storage_url),
                    ("temp dir (removed on exit)", str(session.workdir)),
                ],
            )

            workload = workloads[name]
            host = chain.host_kind(workload)
            env = chain.app_env(
                workload.get("azureAdEnv", {}),
                emu.host_env(host, name),
                account_url=storage_url,
                storage_ca=azurite.ca_pem,
                label=name,
            )
            rule(console, f"The app of workload {name!r} on {host}: one token acquisition, hop by hop")
            render.app_environment(console, workload.get("azureAdEnv", {}), env)
            trace_path = session.workdir / "trace.json"
            app_dir = session.workdir / "app"
            app_dir.mkdir()
            with console.status("Running the app (certless → Entra → BlobServiceClient → Azurite)…"):
                result = chain.run_app(env, cwd=app_dir, trace=trace_path)
            trace = json.loads(trace_path.read_text(encoding="utf-8")) if trace_path.exists() else {}
            render.hops(console, trace, plan, host)
            # Workloads of one app share its grants (declared once, on one of them).
            app_grants = [
                g
                for w in workloads.values()
                if w.get("appClientId") == workload.get("appClientId")
                for g in w.get("access") or []
            ]
            render.rbac(console, rbac.decisions, app_grants)
            blob = trace.get("blob") or {"error": result.error}
            render.blob_result(console, storage_url, blob)
            if result.ok:
                from certless_ops.bluegreen.runbook import first_release_hint

                console.print(f"\n{first_release_hint(str(plan.get('stack') or args.stack))}")
            if args.json is not None:
                # The trace holds claims and which secret headers were sent, never a token or header value.
                write_json(
                    {
                        "stack": plan.get("stack"),
                        "workload": name,
                        "host": host,
                        "ok": result.ok,
                        "hops": trace.get("hops", []),
                        "blob": blob,
                    },
                    args.json,
                )

            if args.keep_running:
                env_file = session.workdir / f"{name}.env"
                _write_env_file(env_file, env)
                console.print(
                    f"\nThe emulator and Azurite keep running. For your own app: [bold]. {env_file}[/bold]\n"
                    "Press Ctrl-C to stop."
                )
                while True:
                    signal.pause()
            status = 0 if result.ok else 1
    except KeyboardInterrupt:
        interrupted = True
    console.print(
        ("Interrupted: " if interrupted else "")
        + "stopped the emulator and Azurite and removed the temp dir."
    )
    return 130 if interrupted else status
