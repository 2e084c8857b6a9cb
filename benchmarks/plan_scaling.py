"""How the offline plan scales with the number of workloads, next to Pulumi's bare mock engine.

For 1, 10, 50 and 100 workloads in one stack this generates a stack config (a temporary
Pulumi.<stack>.yaml for the real program), runs `python -m certless_ops plan` in a fresh process, then
replays the same resources (types, names, inputs, parents, providers, options, taken from the plan
JSON) through Pulumi's mock engine with a trivial Mocks and plain CustomResource / ComponentResource
registrations, also in a fresh process that imports the same SDK classes and gives each resource as
many output properties and type aliases as its SDK class declares. It prints wall time, CPU time and
peak RSS of both and their ratios (CPU time is the steadier figure on a shared machine).

Targets: at 100 workloads the plan takes at most 1.25x the bare engine's time, cost per resource stays
flat (linear growth), peak RSS under 400 MB.

    .venv/bin/python benchmarks/plan_scaling.py [--sizes 1,10,50,100] [--grants 0,2]
    .venv/bin/python benchmarks/plan_scaling.py --per-kind 20     # each compute kind's cost per resource
    .venv/bin/python benchmarks/plan_scaling.py --baseline REV    # this plan against revision REV's

Every row also times `plan --preview` (the dry run plus the plan it is checked against). With
``--baseline REV`` the same run also plans, at each size, a stack of the kinds REV knows (App Service,
Container Apps, AKS) with REV's code (a git worktree, this .venv) and with this checkout's: the ratio is
what the changes since REV cost (target for the stricter plan of issue 10: at most 1.05 at 100 workloads).

With ``--grants 0,2`` (the default) the same run measures the stack without grants and with two role
assignments per workload (the added AccessGrant resources keep the per-resource cost).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
KINDS = ("appservice", "containerapp", "aks", "functionapp", "vm")
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAoTNS2EnC+UQxMMovknkMUIVdJUPe0YapqFmZCHagt/ bench"


BENCH_SUB = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
GRANT_ROLES = ("Storage Blob Data Contributor", "Storage Queue Data Contributor", "Key Vault Secrets User")


OLD_KINDS = ("appservice", "containerapp", "aks")


def stack_config(
    n: int, grants: int = 0, kinds: tuple[str, ...] = KINDS, aks_credentials: bool = True
) -> str:
    """A stack with n workloads, each with its own identity and app, kinds in turn, and ``grants`` role
    assignments per workload (to its app, each on the workload's own storage account)."""
    lines = [
        "config:",
        "  azure-native:location: westeurope",
        "  certless:tenantId: 6f1c1ad3-6a35-4c5b-9f4e-2d8f2a7c0b11",
        "  certless:resourceGroupName: rg-bench",
        "  certless:identities:",
    ]
    lines += [f"    id{i}:\n      name: id-bench-{i}" for i in range(n)]
    lines.append("  certless:apps:")
    lines += [f"    app{i}:\n      displayName: bench-app-{i}" for i in range(n)]
    lines.append("  certless:workloads:")
    for i in range(n):
        kind = kinds[i % len(kinds)]
        lines += [f"    w{i}:", f"      kind: {kind}", f"      app: app{i}", f"      identity: id{i}"]
        if grants:
            account = f"/subscriptions/{BENCH_SUB}/resourceGroups/rg-bench/providers/Microsoft.Storage"
            lines.append("      access:")
            for g in range(grants):
                lines += [
                    f"        - role: {GRANT_ROLES[g % len(GRANT_ROLES)]}",
                    f"          scope: {account}/storageAccounts/stbench{i}g{g // len(GRANT_ROLES)}",
                ]
        if kind == "appservice":
            lines += [
                "      appService:",
                f"        name: bench-web-{i}",
                f"        planName: plan-bench-{i}",
            ]
        elif kind == "containerapp":
            lines += [
                "      containerApp:",
                f"        name: bench-ca-{i}",
                "        image: mcr.microsoft.com/azuredocs/containerapps-helloworld:latest",
                f"        environmentName: cae-bench-{i}",
            ]
        elif kind == "functionapp":
            lines += ["      functionApp:", f"        name: bench-fn-{i}", f"        planName: plan-fn-{i}"]
        elif kind == "vm":
            lines += [
                "      vm:",
                f"        name: bench-vm-{i}",
                f"        sshPublicKey: {SSH_KEY}",
                "        command: /opt/app/bin/serve",
            ]
        else:
            lines += [
                "      aks:",
                "        clusterName: aks-bench",
                f"        namespace: ns{i}",
                f"        serviceAccount: sa{i}",
                "        image: mcr.microsoft.com/azuredocs/aks-helloworld:v1",
            ]
            if aks_credentials:  # the simulated cluster is Entra-integrated (older revisions lack the key)
                lines.append("        credentials: azurecli")
    return "\n".join(lines) + "\n"


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _declared(token: str) -> tuple[list[str], list[str]]:
    """Import the SDK class for a type token, as the program does; its declared outputs and type aliases.

    A typed SDK resource creates one Output per declared property (each a task the engine waits for),
    and azure-native classes alias every older API version of their type (24 for WebApp), each alias
    resolved to a URN through Outputs when the resource is constructed; the replay does the same.
    """
    pkg, mod, typ = token.split(":")
    try:
        if pkg == "azure-native":
            cls = getattr(importlib.import_module(f"pulumi_azure_native.{mod}"), typ)
        elif pkg == "azuread":
            cls = getattr(importlib.import_module("pulumi_azuread"), typ)
        elif pkg == "kubernetes":
            cls = getattr(importlib.import_module(f"pulumi_kubernetes.{mod.replace('/', '.')}"), typ)
        elif pkg == "pulumi" and mod == "providers":
            cls = importlib.import_module(f"pulumi_{typ.replace('-', '_')}").Provider
        else:
            return [], []
    except (ImportError, AttributeError):
        return [], []
    outputs = [name for name, attr in vars(cls).items() if isinstance(attr, property)]
    try:
        aliases = re.findall(r'pulumi\.Alias\(type_="([^"]+)"\)', inspect.getsource(cls))
    except (OSError, TypeError):
        aliases = []
    return outputs, aliases


def replay(plan_path: str) -> None:
    """Register the plan's resources again with plain Pulumi resources, in plan order."""
    import pulumi

    plan: dict[str, Any] = json.loads(Path(plan_path).read_text())
    declared = {token: _declared(token) for token in {r["type"] for r in plan["resources"]}}
    made: dict[str, pulumi.Resource] = {}
    components: list[tuple[pulumi.ComponentResource, dict[str, Any]]] = []
    for res in plan["resources"]:
        if res["type"] == "pulumi:pulumi:Stack":
            continue
        parent = made.get(res["parent"] or "")
        provider_urn = (res["provider"] or "").rsplit("::", 1)[0]
        deps = [made[d] for d in res["dependencies"] if d in made and d != res["parent"]]
        output_names, alias_types = declared[res["type"]]
        opts = pulumi.ResourceOptions(
            aliases=[pulumi.Alias(type_=t) for t in alias_types] or None,
            parent=parent,
            depends_on=deps,
            protect=res["protect"],
            retain_on_delete=res["retain_on_delete"],
            provider=made.get(provider_urn),  # type: ignore[arg-type]
            id=res["import_id"] if res["read"] else None,
        )
        if not res["custom"]:
            comp = pulumi.ComponentResource(res["type"], res["name"], None, opts)
            components.append((comp, res["outputs"]))
            made[res["urn"]] = comp
        elif res["type"].startswith("pulumi:providers:"):
            pkg = res["type"].split(":")[-1]
            made[res["urn"]] = pulumi.ProviderResource(pkg, res["name"], res["inputs"], opts)
        else:
            props = {**dict.fromkeys(output_names), **res["inputs"]}
            made[res["urn"]] = pulumi.CustomResource(res["type"], res["name"], props, opts)
    for comp, outputs in components:
        comp.register_outputs(outputs)
    for key, value in plan["outputs"].items():
        pulumi.export(key, value)


def floor(plan_path: str) -> None:
    """The replay under Pulumi's mock engine with a trivial Mocks (run in a child process)."""
    import pulumi
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    plan: dict[str, Any] = json.loads(Path(plan_path).read_text())

    class Trivial(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            return f"{args.name}_id", args.inputs

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, None]:
            return {}, None

    pulumi.runtime.set_mocks(Trivial(), project=plan["project"], stack=plan["stack"], preview=False)
    _sync_await(run_pulumi_func(lambda: replay(plan_path)))


def replay_project(folder: Path, plan_path: Path) -> Path:
    """A Pulumi project whose program is the replay: the plan's own machinery runs it (third column)."""
    folder.mkdir(exist_ok=True)
    (folder / "Pulumi.yaml").write_text("name: replay\nruntime: python\n")
    (folder / "Pulumi.replay.yaml").write_text(f"config:\n  replay:planFile: {json.dumps(str(plan_path))}\n")
    (folder / "__main__.py").write_text(
        "import sys\nimport pulumi\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import plan_scaling\n"
        "plan_scaling.replay(pulumi.Config().require('planFile'))\n"
    )
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,50,100")
    parser.add_argument(
        "--grants", default="0,2", help="role assignments per workload, each count measured in the same run"
    )
    parser.add_argument(
        "--per-kind",
        type=int,
        metavar="N",
        help="instead: plan N workloads of each kind alone and print CPU ms per resource for each kind",
    )
    parser.add_argument(
        "--baseline", metavar="REV", help="also plan REV's code on the same stacks (a worktree)"
    )
    parser.add_argument("--floor", metavar="PLAN", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        floor(args.floor)
        return
    if args.per_kind:
        per_kind(args.per_kind)
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    if args.baseline:
        baseline(sizes, args.baseline)
        return
    for grants in [int(g) for g in args.grants.split(",")]:
        report(sizes, grants)


def report(sizes: list[int], grants: int) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # The shared venv has no .pyc files and the environment may set PYTHONDONTWRITEBYTECODE; compile
        # into a private cache once (warm-up run below) so that neither side pays for compiling imports.
        env = {**os.environ, "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for n in [sizes[0], *sizes]:
            cfg = Path(tmp) / f"Pulumi.bench{n}.yaml"
            cfg.write_text(stack_config(n, grants))
            plan_file = Path(tmp) / f"plan{n}.json"
            plan_cmd = [sys.executable, "-m", "certless_ops", "plan", "--config-file", str(cfg)]
            plan_cmd += ["--project-dir", str(REPO), "--json", str(plan_file), "--quiet"]
            plan = measure(plan_cmd, env)
            resources = len(json.loads(plan_file.read_text())["resources"])
            preview = measure(
                [*plan_cmd[:-3], "--json", str(Path(tmp) / f"preview{n}.json"), "--quiet", "--preview"], env
            )
            engine = measure([sys.executable, __file__, "--floor", str(plan_file)], env)
            project = replay_project(Path(tmp) / f"replay{n}", plan_file)
            machinery_cmd = [sys.executable, "-m", "certless_ops", "plan", "--project-dir", str(project)]
            machinery_cmd += ["--stack", "replay", "--json", str(project / "plan.json"), "--quiet"]
            machinery = measure(machinery_cmd, env)
            rows.append((n, resources, plan, engine, machinery, preview))
            print(f"  measured {n} workloads ({resources} resources)", file=sys.stderr, flush=True)
    rows = rows[1:]  # drop the warm-up

    print(f"-- {grants} grant(s) per workload")
    print(
        f"{'workloads':>9} {'resources':>9} | {'plan wall s':>11} {'cpu s':>6} {'MiB':>5} | "
        f"{'engine wall s':>13} {'cpu s':>6} {'MiB':>5} | {'ratio wall':>10} {'ratio cpu':>9} | "
        f"{'replay under plan cpu s':>23} | {'--preview cpu s':>15}"
    )
    for n, resources, (pw, pc, pm), (ew, ec, em), (_, mc, _), (_, vc, _) in rows:
        print(
            f"{n:>9} {resources:>9} | {pw:>11.2f} {pc:>6.2f} {pm:>5.0f} | "
            f"{ew:>13.2f} {ec:>6.2f} {em:>5.0f} | {pw / ew:>10.2f} {pc / ec:>9.2f} | {mc:>23.2f} | "
            f"{vc:>15.2f}"
        )
    print(
        "replay under plan: the same plain-resource replay run by `certless_ops plan` (recording monitor, "
        "simulator, plan file) instead of a trivial Mocks; its distance to the engine column is the plan "
        "machinery's own cost, the rest of the plan column is the real program and the typed SDK classes. "
        "--preview: `plan --preview`, the plan plus the dry run it is checked against."
    )
    if len(rows) >= 3:
        first, mid, last = rows[0], rows[len(rows) // 2], rows[-1]

        def per_resource(a: tuple, b: tuple, side: int) -> float:
            return (b[side][1] - a[side][1]) / (b[1] - a[1]) * 1000

        print(
            f"CPU ms per added resource ({first[0]}->{mid[0]} / {mid[0]}->{last[0]} workloads): "
            f"plan {per_resource(first, mid, 2):.1f} / {per_resource(mid, last, 2):.1f}, "
            f"engine {per_resource(first, mid, 3):.1f} / {per_resource(mid, last, 3):.1f}"
        )


def baseline(sizes: list[int], rev: str) -> None:
    """This checkout's plan against revision ``rev``'s on the same stacks, alternating, in one run."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        old_dir = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(old_dir), rev], check=True
        )
        # The worktree's packages come first on the path, ahead of this checkout's editable install.
        old_env = {**env, "PYTHONPATH": str(old_dir)}
        rows = []
        try:
            for n in [sizes[0], *sizes]:
                times: dict[str, list[float]] = {"new": [], "old": []}
                for side, root, side_env, creds in (
                    ("new", REPO, env, True),
                    ("old", old_dir, old_env, False),
                ):
                    cfg = Path(tmp) / side / f"Pulumi.bench{n}.yaml"
                    cfg.parent.mkdir(exist_ok=True)
                    cfg.write_text(stack_config(n, kinds=OLD_KINDS, aks_credentials=creds))
                    cmd = [sys.executable, "-m", "certless_ops", "plan", "--config-file", str(cfg), "--quiet"]
                    cmd += ["--project-dir", str(root), "--json", str(cfg.parent / f"plan{n}.json")]
                    for _ in range(3):
                        times[side].append(measure(cmd, side_env)[1])
                rows.append((n, min(times["new"]), min(times["old"])))
                print(f"  measured {n} workloads", file=sys.stderr, flush=True)
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(old_dir)], check=False
            )
    print(f"-- this checkout against {rev} (kinds {', '.join(OLD_KINDS)}; best of 3 CPU seconds each)")
    print(f"{'workloads':>9} | {'plan cpu s':>10} {'baseline cpu s':>14} {'ratio':>6}")
    for n, new, old in rows[1:]:
        print(f"{n:>9} | {new:>10.2f} {old:>14.2f} {new / old:>6.3f}")


def per_kind(n: int) -> None:
    """Each kind alone at 1 and n workloads: the marginal CPU cost of its resources, in the same run."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)

        def plan_of(kind: str, size: int) -> tuple[int, float]:
            cfg = Path(tmp) / f"Pulumi.{kind}{size}.yaml"
            cfg.write_text(stack_config(size, kinds=(kind,)))
            plan_file = Path(tmp) / f"{kind}{size}.json"
            cmd = [sys.executable, "-m", "certless_ops", "plan", "--config-file", str(cfg)]
            cmd += ["--project-dir", str(REPO), "--json", str(plan_file), "--quiet"]
            _, cpu, _ = measure(cmd, env)
            return len(json.loads(plan_file.read_text())["resources"]), cpu

        plan_of(KINDS[0], 1)  # warm-up: compile imports once
        at_n = f"at {n}"
        print(f"{'kind':>12} | {'resources at 1':>14} {at_n:>8} | {'CPU ms per added resource':>25}")
        for kind in KINDS:
            (r1, c1), (rn, cn) = plan_of(kind, 1), plan_of(kind, n)
            print(f"{kind:>12} | {r1:>14} {rn:>8} | {(cn - c1) / (rn - r1) * 1000:>25.1f}")


if __name__ == "__main__":
    main()
