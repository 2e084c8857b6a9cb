"""Review time: the shipped prod stack and a generated 100-workload stack. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/review.py [--repeat N]

Each stack's offline plan is produced once by the plan tool (its time is printed apart); the policy
evaluation (``review_plan``: Configure, Analyze per resource, AnalyzeStack through pulumi_policy's
servicer) is then timed N times: median and worst wall time, and median CPU time of this process
(wall time on a shared 2-core machine mostly measures the other processes). The issue's budget is
under 1 s for 100 workloads, excluding the plan.

Each stack is also reviewed as ``pulumi preview`` runs the pack (``review --preview``): on its preview
plan (``plan --preview``, whose time includes the plan it is checked against), with unknowns sent as
the engine's sentinel and every rule wrapped to note the unknown values it meets. Both rows come from the
same run, one under the other.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from certless_ops.review import load_pack_config, review_plan
from policy.rules import ALL_POLICIES

REPO = Path(__file__).resolve().parents[1]
KINDS = ("appservice", "containerapp", "aks")


def hundred_workload_config() -> dict[str, Any]:
    """Pulumi.prod.yaml's shape with 100 workloads, each with its own identity and app registration."""
    base = yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text(encoding="utf-8"))["config"]
    identities: dict[str, Any] = {}
    apps: dict[str, Any] = {}
    workloads: dict[str, Any] = {}
    for n in range(100):
        kind = KINDS[n % len(KINDS)]
        identities[f"id{n}"] = {"name": f"id-bench-{n}", "protect": True}
        apps[f"app{n}"] = {"displayName": f"certless-bench-{n}", "protect": True}
        workload: dict[str, Any] = {"kind": kind, "app": f"app{n}", "identity": f"id{n}"}
        if kind == "appservice":
            workload["appService"] = {
                "name": f"certless-bench-web-{n}",
                "planName": f"plan-certless-bench-{n}",
                "sku": "P1v3",
                "linuxFxVersion": "PYTHON|3.12",
            }
        elif kind == "containerapp":
            workload["containerApp"] = {
                "name": f"bench-api-{n}",
                "image": "mcr.microsoft.com/azuredocs/containerapps-helloworld:latest",
                "environmentName": f"cae-certless-bench-{n}",
                "targetPort": 80,
            }
        else:
            workload["aks"] = {
                "clusterResourceGroup": "rg-certless-aks-bench",
                "clusterName": "aks-certless-bench",
                "namespace": f"bench-{n}",
                "serviceAccount": f"worker-{n}",
                "deploymentName": f"worker-{n}",
                "image": "mcr.microsoft.com/azuredocs/aks-helloworld:v1",
                "replicas": 1,
                "mode": "via-identity",
                # The simulated cluster is Entra-integrated: a non-interactive kubelogin mode, as prod's.
                "credentials": "azurecli",
            }
        workloads[f"w{n}"] = workload
    config = {k: v for k, v in base.items() if k not in ("certless:workloads",)}
    config.update(
        {
            "certless:resourceGroupName": "rg-certless-bench",
            "certless:identities": identities,
            "certless:apps": apps,
            "certless:workloads": workloads,
        }
    )
    return {"config": config}


def make_plan(stack: str, out: Path, config_file: Path | None = None, preview: bool = False) -> float:
    command = [sys.executable, "-m", "certless_ops", "plan", "--stack", stack, "--json", str(out), "--quiet"]
    if preview:
        command.append("--preview")
    if config_file is not None:
        command += ["--config-file", str(config_file)]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"plan for {stack} failed:\n{result.stderr}")
    return time.perf_counter() - started


def time_review(plan_path: Path, repeat: int) -> dict[str, Any]:
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    config = load_pack_config(REPO / "policy" / "config" / "prod.json", ALL_POLICIES)
    review_plan(plan, config)  # warm-up: imports and first-call costs are not the steady state
    wall, cpu = [], []
    for _ in range(repeat):
        started = time.process_time()
        review = review_plan(plan, config)
        cpu.append(time.process_time() - started)
        wall.append(review.seconds)
    return {
        "resources": len(plan["resources"]),
        "wall": statistics.median(wall),
        "worst": max(wall),
        "cpu": statistics.median(cpu),
        "result": f"{len(review.mandatory)} mandatory, {len(review.advisory)} advisory"
        + (f", {review.skipped_summary}" if review.preview else ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed review runs per stack (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="certless-bench-") as tmp:
        folder = Path(tmp)
        cases = []
        config_file = folder / "Pulumi.bench100.yaml"
        config_file.write_text(yaml.safe_dump(hundred_workload_config()), encoding="utf-8")
        for label, stack, stack_file in (("prod", "prod", None), ("100 workloads", "bench100", config_file)):
            for preview in (False, True):
                path = folder / f"{stack}{'-preview' if preview else ''}.json"
                seconds = make_plan(stack, path, stack_file, preview)
                cases.append((f"{label}{' preview' if preview else ''}", seconds, path))
        print(f"policies: {len(ALL_POLICIES)}; load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(
            f"{'stack':<21} {'resources':>9} {'plan s':>7} {'review s (median)':>17} {'worst s':>8} "
            f"{'review CPU s':>12}  result"
        )
        for label, plan_seconds, path in cases:
            r = time_review(path, args.repeat)
            print(
                f"{label:<21} {r['resources']:>9} {plan_seconds:>7.2f} {r['wall']:>17.3f} {r['worst']:>8.3f} "
                f"{r['cpu']:>12.3f}  {r['result']}"
            )


if __name__ == "__main__":
    main()
